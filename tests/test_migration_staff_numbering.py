"""Migration 0010 (staff numbering) over a database holding rows of the schema before it."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, text

from db import migrate

INSERT_BROADCAST = (
    "INSERT INTO broadcasts (id, kind, status, text, target, scheduled_at, created_at, total) "
    "VALUES (:id, :kind, 'done', 'x', '{}', '2026-01-01 10:00:00', '2026-01-01 10:00:00', 0)"
)
INSERT_ACTIVITY = (
    "INSERT INTO outreach_activities (id, held_on, title, kind, audience, reached, directions, "
    "municipality_id, source, created_at, updated_at) VALUES (:id, '2026-03-14', :title, 'meeting', "
    "'parents', 70, '[]', 'sayansk', 'bot', '2026-03-14 10:00:00', '2026-03-14 10:00:00')"
)
INSERT_QUESTION = (
    "INSERT INTO faq_questions (id, asked_at, user_id, text, normalized, decision, score) "
    "VALUES (:id, '2026-03-14 10:00:00', 1001, 'вопрос', 'вопрос', 'ask', 0)"
)
INSERT_HANDOFF = (
    "INSERT INTO faq_handoffs (question_id, created_at, staff_chat_id, staff_message_id) "
    "VALUES (:question, '2026-03-14 10:00:00', -100, :message)"
)
INSERT_AUDIT = (
    "INSERT INTO outreach_audit (activity_id, action, source, at) "
    "VALUES (:id, :action, 'bot', '2026-03-14 10:00:00')"
)


def test_upgrade_numbers_broadcasts_among_their_kind_and_never_reuses_a_log_number(tmp_path: Path) -> None:
    path = tmp_path / "before.sqlite3"
    url = f"sqlite+aiosqlite:///{path}"
    migrate.upgrade(url, "0009")
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        # an event's reminders took ids 1, 2 and 4 of the shared table; broadcasts 3 and 5
        for broadcast_id, kind in [(1, "reminder"), (2, "reminder"), (3, "broadcast"), (4, "reminder"),
                                   (5, "broadcast")]:  # fmt: skip
            conn.execute(text(INSERT_BROADCAST), {"id": broadcast_id, "kind": kind})
        # log entries 1-3 were made, 3 was deleted: only the audit trail remembers it
        for activity_id in (1, 2, 3):
            conn.execute(text(INSERT_ACTIVITY), {"id": activity_id, "title": f"Собрание {activity_id}"})
            conn.execute(text(INSERT_AUDIT), {"id": activity_id, "action": "create"})
        conn.execute(text("DELETE FROM outreach_activities WHERE id = 3"))
        conn.execute(text(INSERT_AUDIT), {"id": 3, "action": "delete"})
        for question in (1, 2):
            conn.execute(text(INSERT_QUESTION), {"id": question})
            conn.execute(text(INSERT_HANDOFF), {"question": question, "message": 10 + question})
    migrate.upgrade(url, "0010")
    with engine.begin() as conn:
        numbers = conn.execute(text("SELECT id, kind, number FROM broadcasts ORDER BY id")).all()
        assert [tuple(r) for r in numbers] == [
            (1, "reminder", 1), (2, "reminder", 2), (3, "broadcast", 1), (4, "reminder", 3),
            (5, "broadcast", 2),
        ]  # fmt: skip
        rows = conn.execute(text("SELECT id, title, reached FROM outreach_activities ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [(1, "Собрание 1", 70), (2, "Собрание 2", 70)]
        conn.execute(text(INSERT_ACTIVITY.replace(":id, ", "").replace("(id, ", "(")), {"title": "Новое"})
        new_id = conn.execute(text("SELECT id FROM outreach_activities WHERE title = 'Новое'")).scalar()
        assert new_id == 4  # not 3: that number belonged to the deleted entry
        conn.execute(text("DELETE FROM outreach_activities WHERE id = 4"))
        conn.execute(text(INSERT_ACTIVITY.replace(":id, ", "").replace("(id, ", "(")), {"title": "Ещё"})
        assert conn.execute(text("SELECT max(id) FROM outreach_activities")).scalar() == 5
        # hand-offs («Вопрос родителя №2»): kept, and a number /forget deleted is not given again
        handoffs = conn.execute(text("SELECT id, question_id, staff_message_id FROM faq_handoffs ORDER BY 1"))
        assert [tuple(r) for r in handoffs] == [(1, 1, 11), (2, 2, 12)]
        conn.execute(text("DELETE FROM faq_handoffs WHERE id = 2"))
        conn.execute(text(INSERT_HANDOFF), {"question": 2, "message": 13})
        assert conn.execute(text("SELECT max(id) FROM faq_handoffs")).scalar() == 3
    migrate.downgrade(url, "0009")
    with engine.begin() as conn:
        columns = [r[1] for r in conn.execute(text("PRAGMA table_info(broadcasts)"))]
        assert "number" not in columns
        assert conn.execute(text("SELECT count(*) FROM outreach_activities")).scalar() == 3
    engine.dispose()
