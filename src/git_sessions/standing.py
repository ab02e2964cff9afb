"""What `status` shows beside the journal: who holds the session (agent type and version)
and its inbox. Exposed as one value so `status`, and later a board or MCP tool, share it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from git_sessions.holders import ClaimRecord, session_claim
from git_sessions.messages import Inbox, inbox

if TYPE_CHECKING:
    from git_sessions.context import Context


@dataclass(frozen=True)
class Overview:
    slug: str
    holder: ClaimRecord | None
    inbox: Inbox

    def to_json(self) -> dict[str, Any]:
        return {
            "holder": self.holder.to_json() if self.holder else None,
            "inbox": self.inbox.to_json(only_unread=True),
        }


def overview(ctx: Context, slug: str) -> Overview:
    snap = ctx.main()
    return Overview(slug, session_claim(snap, slug), inbox(snap, slug))
