"""The central late-linking diagram, split by job.

``view`` is the widget (cursor, animation, export); ``picture`` holds what one step's scene
shows, and the ``draw_*`` modules add its layers; ``items``, ``strips`` and ``paint`` are the
graphics items they use; ``history`` reads what earlier steps tell about modules and the JIT.
"""
