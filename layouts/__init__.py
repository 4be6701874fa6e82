"""Dash pages, pure chart factories, components and theme.

``layouts.charts`` holds the chart factories (frame and indicator in, plotly JSON out, drafted
by ``layouts.figure_draft``); the exports reuse them, so they import neither Dash nor the
database. ``layouts.pages`` holds the
self-registering page modules that :func:`cjsdash.server.create_app` loads.
"""
