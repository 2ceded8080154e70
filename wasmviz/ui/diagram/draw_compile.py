"""The bytes leaving main's memory for the host at the compile step, and where a label can go
without covering another.

Compile is the one phase in which nothing inside the main module changes: the host reads the
module's bytes out of the JIT buffer and hands them to wasmtime. So the picture draws that
hand-over, an arrow from the JIT buffer to the host with the byte count, and a packet that
travels along it while the step animates.

``free_spot`` finds room for a callout (the trap's, this label) among what is already drawn: the
layout is the lead's and changes, so positions are searched, never assumed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QFontMetricsF, QPainterPath
from PySide6.QtWidgets import QGraphicsItem

from ...engine.trace import Step
from .. import colors
from .items import Arrow, Box, Note
from .paint import font
from .picture import CAPTION, COLUMN, HOST, MAIN, SCENE, TABLE, Picture, routed
from .strips import RegionItem, SlotItem

if TYPE_CHECKING:
    import numpy as np

#: Space kept between a placed label and anything else, in scene units.
GAP = 4.0
LABEL_PT = 11.0


def lane(share: float) -> float:
    """An x in the channel between the main module and the module column: 0 at main's edge,
    1 at the column's. Arrows of different kinds keep to different shares."""
    return MAIN.right() + (COLUMN.left() - MAIN.right()) * share


def _legs(arrow: Arrow) -> list[QRectF]:
    """The thin rects an arrow's straight legs cover (a curve: its whole bounding rect)."""
    path, pad = arrow.mapToScene(arrow.path()), arrow.width / 2 + 2
    points = [QPointF(path.elementAt(i).x, path.elementAt(i).y)
              for i in range(path.elementCount())]
    if any(path.elementAt(i).type == QPainterPath.ElementType.CurveToElement
           for i in range(path.elementCount())):
        return [path.boundingRect().adjusted(-pad, -pad, pad, pad)]
    return [QRectF(a, b).normalized().adjusted(-pad, -pad, pad, pad)
            for a, b in zip(points, points[1:])]


def obstacles(pic: Picture, ignore: Iterable[QGraphicsItem] = (),
              arrows: bool = False) -> tuple[list[QRectF], list[QRectF]]:
    """(solid, frames) in scene coordinates: what a label must not cover (with ``arrows``, the
    arrows' legs too), and the panels it must be wholly inside or wholly outside of (never
    across their border)."""
    solid, legs, frames = _scan(pic, ignore, with_legs=arrows)
    return solid + legs, frames


def _scan(pic: Picture, ignore: Iterable[QGraphicsItem] = (), with_legs: bool = True
          ) -> tuple[list[QRectF], list[QRectF], list[QRectF]]:
    """(solid, arrow legs, frames): one walk over the scene's items serves both of place's
    tries (clear of arrows, then not), which matters on the link steps' many labels. Without
    ``with_legs`` the arrows' legs are not worked out (an empty list)."""
    skip = set(map(id, ignore))
    solid, leg_rects, frames = [QRectF(CAPTION)], [], []
    for item in pic.scene.items():
        if id(item) in skip or not item.isVisible():
            continue
        if isinstance(item, Arrow):
            if with_legs:
                leg_rects += _legs(item)
        elif isinstance(item, Note):
            r = item.mapRectToScene(item.rect())
            if item.text or item.heading or item.fill is not None:
                solid.append(r)
            elif item.border is not None:
                frames.append(r)
        elif isinstance(item, Box):
            r = item.mapRectToScene(item.rect())
            if r.contains(QRectF(TABLE)):   # the main module: a panel with a title
                frames.append(r)
                solid.append(QRectF(r.left(), r.top(), r.width(), Box.TITLE_H))
            else:
                solid.append(r)
        elif isinstance(item, (SlotItem, RegionItem)):
            solid.append(item.sceneBoundingRect())
    return solid, leg_rects, frames


def _array(rects: list[QRectF], margin: float) -> np.ndarray:
    import numpy as np  # noqa: PLC0415 - only the grid search needs it (start-up, issue 11)
    return np.array([(r.left() - margin, r.top() - margin, r.right() + margin,
                      r.bottom() + margin) for r in rects] or np.zeros((0, 4)))


def free_spot(pic: Picture, width: float, height: float, anchor: QPointF, *,
              within: QRectF | None = None, ignore: Iterable[QGraphicsItem] = (),
              step: float = 6.0, arrows: bool = False,
              found: tuple[list[QRectF], list[QRectF]] | None = None
              ) -> tuple[QRectF, float] | None:
    """The ``width`` x ``height`` rect nearest ``anchor`` that covers nothing drawn (arrows
    only if ``arrows``), crosses no panel border and stays above the caption; with its
    distance from ``anchor``. None if the picture has no such room (in ``within``, if given).
    ``found``: the (solid, frames) obstacles, when the caller has gathered them already."""
    area = QRectF(within) if within is not None else \
        QRectF(SCENE.left() + 6, SCENE.top() + 6, SCENE.width() - 12, CAPTION.top() - 12)
    area = area.intersected(QRectF(SCENE.left(), SCENE.top(), SCENE.width(),
                                   CAPTION.top() - GAP - SCENE.top()))
    if area.width() < width or area.height() < height:
        return None
    # Imported here, not at the top: most labels find a place through first_free, and numpy
    # would add a quarter to the app's start-up (issue 11).
    import numpy as np  # noqa: PLC0415
    xs = np.arange(area.left(), area.right() - width + 0.01, step)
    ys = np.arange(area.top(), area.bottom() - height + 0.01, step)
    x0, y0 = (a.ravel() for a in np.meshgrid(xs, ys))
    ax, ay = anchor.x(), anchor.y()
    dist = np.hypot(np.maximum(np.maximum(x0 - ax, ax - x0 - width), 0),
                    np.maximum(np.maximum(y0 - ay, ay - y0 - height), 0))
    order = np.argsort(dist, kind="stable")
    solid, frames = found if found is not None else obstacles(pic, ignore, arrows)
    s, f = _array(solid, GAP), _array(frames, 0.0)
    # Nearest first, a chunk at a time: there is usually room close by, so only a few
    # hundred candidates are ever tested against the obstacles.
    for lo in range(0, order.size, 512):
        pick = order[lo:lo + 512]
        cx0, cy0 = x0[pick][:, None], y0[pick][:, None]
        cx1, cy1 = cx0 + width, cy0 + height
        free = ~((cx0 < s[:, 2]) & (cx1 > s[:, 0]) & (cy0 < s[:, 3]) & (cy1 > s[:, 1])).any(1)
        if len(f):
            free &= ~_crosses_frame(cx0, cy0, cx1, cy1, f)
        hits = np.flatnonzero(free)
        if hits.size:
            best = int(pick[hits[0]])
            return QRectF(float(x0[best]), float(y0[best]), width, height), float(dist[best])
    return None


def _crosses_frame(cx0: np.ndarray, cy0: np.ndarray, cx1: np.ndarray, cy1: np.ndarray,
                   f: np.ndarray) -> np.ndarray:
    """For each candidate (rows), whether it straddles a panel border: it comes near a frame
    without lying inside it."""
    meets = (cx0 < f[:, 2] + GAP) & (cx1 > f[:, 0] - GAP) & \
            (cy0 < f[:, 3] + GAP) & (cy1 > f[:, 1] - GAP)
    inside = (cx0 >= f[:, 0] + GAP) & (cx1 <= f[:, 2] - GAP) & \
             (cy0 >= f[:, 1] + GAP) & (cy1 <= f[:, 3] - GAP)
    return (meets & ~inside).any(1)


def first_free(pic: Picture, candidates: list[QRectF], *, arrows: bool = False,
               ignore: Iterable[QGraphicsItem] = ()) -> QRectF | None:
    """The first of ``candidates`` (in order of preference) that covers nothing drawn, crosses
    no panel border and stays in the picture above the caption; None if none does.

    Cheap: a label usually has an obvious place, and this checks only those few places; the
    grid search of ``free_spot`` is the fallback.
    """
    if not candidates:
        return None
    solid, frames = obstacles(pic, ignore, arrows)
    return _first_clear(candidates, solid, frames)


def _first_clear(candidates: list[QRectF], solid: list[QRectF],
                 frames: list[QRectF]) -> QRectF | None:
    """first_free's test, against obstacles already gathered."""
    # Plain Python: a few candidates against the drawn items is less work than importing numpy.
    s = [_edges(r, GAP) for r in solid]
    f = [_edges(r, 0.0) for r in frames]
    for rect in candidates:
        x0, y0, x1, y1 = _edges(rect, 0.0)
        if not (x0 >= SCENE.left() and x1 <= SCENE.right() and y0 >= SCENE.top()
                and y1 <= CAPTION.top() - GAP):
            continue
        if any(x0 < sx1 and x1 > sx0 and y0 < sy1 and y1 > sy0 for sx0, sy0, sx1, sy1 in s):
            continue
        if any(_straddles(x0, y0, x1, y1, frame) for frame in f):
            continue
        return QRectF(rect)
    return None


def _edges(r: QRectF, margin: float) -> tuple[float, float, float, float]:
    return r.left() - margin, r.top() - margin, r.right() + margin, r.bottom() + margin


def _straddles(x0: float, y0: float, x1: float, y1: float,
               f: tuple[float, float, float, float]) -> bool:
    """Whether the rect straddles the panel border ``f``, as _crosses_frame for one pair."""
    fx0, fy0, fx1, fy1 = f
    meets = x0 < fx1 + GAP and x1 > fx0 - GAP and y0 < fy1 + GAP and y1 > fy0 - GAP
    inside = x0 >= fx0 + GAP and x1 <= fx1 - GAP and y0 >= fy0 + GAP and y1 <= fy1 - GAP
    return meets and not inside


def place(pic: Picture, width: float, height: float, anchor: QPointF,
          candidates: list[QRectF], *, near: float = 70.0,
          ignore: Iterable[QGraphicsItem] = ()) -> QRectF:
    """Where a label goes: the first free of ``candidates`` (clear of arrows if possible),
    else the nearest free spot within ``near`` of ``anchor``; else the last candidate anyway,
    since a label far from what it names would mislead more than one that touches a line."""
    solid, legs, frames = _scan(pic, ignore)
    spot = _first_clear(candidates, solid + legs, frames) or \
        _first_clear(candidates, solid, frames)
    if spot is not None:
        return spot
    window = QRectF(anchor.x() - near, anchor.y() - near, 2 * near, 2 * near)
    spot_found = free_spot(pic, width, height, anchor, within=window, step=4.0, ignore=ignore,
                           found=(solid, frames))
    return spot_found[0] if spot_found is not None else QRectF(candidates[-1])


def leader_points(rect: QRectF, target: QRectF) -> tuple[QPointF, QPointF]:
    """A straight leader from ``rect``'s edge to the side of ``target`` that faces it."""
    c = rect.center()
    if rect.top() >= target.bottom():
        end = QPointF(min(max(c.x(), target.left() + 6), target.right() - 6), target.bottom())
    elif rect.bottom() <= target.top():
        end = QPointF(min(max(c.x(), target.left() + 6), target.right() - 6), target.top())
    else:
        x = target.right() if c.x() > target.center().x() else target.left()
        end = QPointF(x, min(max(c.y(), target.top() + 6), target.bottom() - 6))
    start = QPointF(min(max(end.x(), rect.left()), rect.right()),
                    min(max(end.y(), rect.top()), rect.bottom()))
    return start, end


def label_width(text: str, pt: float = LABEL_PT, bold: bool = True, pad: float = 18) -> float:
    """The width of a one-line pill holding ``text``."""
    return QFontMetricsF(font(pt, bold)).horizontalAdvance(text) + pad


def draw_compile(pic: Picture, step: Step) -> None:
    """Compile: the module's bytes go from the JIT buffer in main's memory to the host."""
    if step.phase != "compile" or step.module is None or "jit" not in pic.regions:
        return
    size, number = len(step.module.data), step.module.number
    rejected = step.kind == "invalid"
    color = colors.module_color(number)
    region = pic.regions["jit"].sceneBoundingRect()
    x = lane(0.45)
    start = QPointF(region.right(), region.center().y())
    end = QPointF(HOST.right(), HOST.center().y() + 6)
    tip = (f"The host read m{number}'s {size} bytes out of main's memory (the JIT buffer at "
           f"0x{step.module.address:05x}) and handed them to wasmtime"
           + (", which rejected them." if rejected else ", which validated and compiled them."))
    arrow = pic.add(Arrow(routed([start, QPointF(x, start.y()), QPointF(x, end.y()), end]),
                          color, pic.ink, 3.0, tip=tip), 6)
    pic.arrows.setdefault("compile", []).append(arrow)
    pic.tween(arrow.set_progress, 0.0, 0.7)
    # The packet: the bytes themselves, travelling along the arrow while the step plays.
    chip_w = label_width(f"{size} B", LABEL_PT)
    chip = pic.add(Note(QRectF(-chip_w / 2, -13, chip_w, 26), f"{size} B", pic.ink, fill=color,
                        pt=LABEL_PT, bold=True, radius=13, tip=tip), 8)
    path = arrow.path()
    chip.setOpacity(0.0)
    pic.tween(lambda t: (chip.setPos(path.pointAtPercent(min(1.0, t))),
                         chip.setOpacity(1.0 if 0.0 < t < 1.0 else 0.0)), 0.0, 0.75)
    # At rest the label tells the story of a still frame.
    text = f"{size} B → wasmtime" + (" (rejected)" if rejected else "")
    w, h = label_width(text), 28.0
    mid = QPointF(x, (start.y() + end.y()) / 2)
    # Beside the arrow's rise, else on it (an edge label), else wherever there is room.
    rect = place(pic, w, h, mid, [QRectF(x + 8, mid.y() - h / 2 + dy, w, h)
                                  for dy in (0, -40, 40, -80, 80)]
                 + [QRectF(x - w / 2, mid.y() - h / 2, w, h)], ignore=(chip,))
    label = pic.add(Note(rect, text, pic.ink, fill=pic.ink.bg, border=color, pt=LABEL_PT,
                         bold=True, radius=h / 2, tip=tip), 7)
    pic.tween(label.setOpacity, 0.6, 1.0)
