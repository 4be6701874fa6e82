"""Analysis frames for the indicator and baseline pages (METHODS.md: SPC, assurance, RAG,
funnel plots, rank intervals, most similar groups), one module per concern:

- :mod:`.areas`: which areas are compared, every area's headline frame (cached per data
  version) and the small frame helpers;
- :mod:`.spc_readings`: one area's series → SPC chart (XmR, p or Laney p′), special causes and
  signals, assurance and RAG (:func:`spc_frame`, :func:`assurance_for`, :func:`rag_for`);
- :mod:`.area_comparison`: every force (or LCJB) for one period: funnel position (and the
  funnel's curves, adjusted for overdispersion), rank interval, quartile
  (:func:`compare_areas`, :func:`funnel_curve`);
- :mod:`.peer_groups`: most similar groups and the MSG comparison;
- :mod:`.changes`: the change on last year, tested only where the registry declares a sampling
  model;
- :mod:`.baseline`: every indicator for one area, with :func:`summarise_baseline`.

Everything statistical is done by the pure functions of :mod:`metrics.statistics`; these
modules shape the frames of :mod:`metrics.compute` for them and back, and word the results so
a page only ever states what a test supports. Names are re-exported here so a page may write
``analysis.compare_areas``.
"""

from metrics.analysis.area_comparison import *  # noqa: F403
from metrics.analysis.areas import *  # noqa: F403
from metrics.analysis.baseline import *  # noqa: F403
from metrics.analysis.changes import *  # noqa: F403
from metrics.analysis.peer_groups import *  # noqa: F403
from metrics.analysis.spc_readings import *  # noqa: F403
