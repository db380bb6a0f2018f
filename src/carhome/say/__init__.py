"""Natural-language requests, in English and Chinese, against a home's live model.

``matcher`` understands a sentence (pure: hassil templates from ``grammar``, slots from the
home's ``vocabulary``, words from ``lexicon``); ``answers`` phrases the answer; ``service``
carries a request out through the hub as the calling member; its request and answer are
the wire's (``carhome.wire.say``).
"""

from carhome.say.matcher import Understanding, understand
from carhome.say.service import Say
from carhome.wire.say import DeviceRef, SayRequest, SayResult

__all__ = ["DeviceRef", "Say", "SayRequest", "SayResult", "Understanding", "understand"]
