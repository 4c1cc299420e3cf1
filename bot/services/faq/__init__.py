"""Parent FAQ: the knowledge base, the matcher, questions and hand-offs to staff.

Nothing happens on import: `create_app` registers the `faq` content section
(`bot.services.faq.knowledge.load_knowledge_base`) and wires `parts()`.
"""

from bot.services.faq.service import parts

__all__ = ["parts"]
