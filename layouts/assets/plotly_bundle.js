// The charts' plotly.js: its cartesian bundle (scatter, bar, heatmap and the other 2-D traces;
// 1.5 MB, about 0.5 s to evaluate in Chromium on this machine) rather than the full bundle Dash
// serves (4.8 MB with maps, 3-D and WebGL, none of which a cjsdash chart draws; about 1.1 s),
// the same version as the plotly Python package's (decision 50; tests/integration/
// test_plotly_bundle.py). dcc.Graph loads the script at window._dashPlotlyJSURL when it first
// draws a chart, and Dash's renderer sets that address when it mounts: this asset runs before
// it, so the address is fixed here and the renderer's assignment has no effect.
(function () {
    var prefix = '/';
    try {
        var config = document.getElementById('_dash-config');
        prefix = JSON.parse(config.textContent).requests_pathname_prefix || '/';
    } catch (e) { /* Dash's default prefix */ }
    var url = prefix + 'assets/vendor/plotly-cartesian-4.1.1.min.js?v=4.1.1';
    Object.defineProperty(window, '_dashPlotlyJSURL', {
        configurable: false,
        get: function () { return url; },
        set: function () { /* the renderer's full bundle: not loaded */ }
    });
})();
