"""Plain-English captions for trace steps.

A caption is one or two sentences a learner reads under the picture: it says what just happened
and, where it is not obvious, why. Facts in captions (slots, addresses, sizes) are always read
from the real state by the caller and passed in: function objects and the VM state block as
the step's own records (trace.FunctionRecord, trace.VmState), decoded once by the engine.
"""

from __future__ import annotations

from .captions_call import CallCaptions
from .captions_generate import GenerateCaptions
from .captions_link import LinkCaptions
from .captions_words import (LINK_SECTION_WHY, SECTION_NAMES, SECTION_WHY, SEGMENT_WHY, TRAP_WHY,
                             call_text, hexaddr, type_text)

# The wording is split by phase (captions_generate.py, captions_link.py, captions_call.py) and
# the shared words are in captions_words.py; every name stays importable from here, where the
# recorder, slots, node_engine, foreign and the tests import it.
__all__ = ["LINK_SECTION_WHY", "SECTION_NAMES", "SECTION_WHY", "SEGMENT_WHY", "TRAP_WHY",
           "Captions", "call_text", "hexaddr", "type_text"]


class Captions(GenerateCaptions, LinkCaptions, CallCaptions):
    """Builds captions; holds nothing but wording (one mixin per group of phases)."""
