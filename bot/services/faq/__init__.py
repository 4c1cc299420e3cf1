"""Parent FAQ: the knowledge base, the matcher, questions and hand-offs to staff.

Importing this package registers the FAQ's plug-ins: the `faq` content section
(validated by `mocbot content check` and at start-up), what /mydata shows and
/forget deletes, and the `faq_unanswered` report source.
"""

from __future__ import annotations

from bot.content import register_section
from bot.services import privacy
from bot.services.faq.knowledge import FAQ_DIR, load_knowledge_base
from bot.services.faq.service import describe_user, forget_user, unanswered_source
from bot.services.report_sources import register_source

register_section(FAQ_DIR, load_knowledge_base)
privacy.register_owner(privacy.DataOwner("faq", describe_user, forget_user))
register_source("faq_unanswered", unanswered_source)
