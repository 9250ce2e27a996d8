"""Anonymous posting: labels, checks on the text, the post queue, review and blocks.

`rules` holds the limits and refusals, `labels` keys and labels, `text` the checks on a
post's words, `posts` a post from draft to delivery, `blocks` removal and blocks. Callers
use this package's names (`from bot.services import anonymous as anon`).

Nothing here stores a user id. An author is known only by a label key,
HMAC-SHA256(circle key, user id), and the circle key is HMAC-SHA256(master secret, circle
salt). The master secret lives outside the database, so a copy of the database alone links
no post to anyone; closing a circle destroys its salt, so its old keys can never be computed
again. In strict circles the circle key is random and held only in memory (`CircleKeys`), so
not even the operator can link labels, and labels, blocks and post histories start afresh
after a restart.

Every author-facing lookup (their posts, deleting one, blocks, rate limits) works by
recomputing the label key from the person asking, never by a stored id. Post text is kept
only while a post waits (draft, review, queued, sending) and is dropped once it is posted or
decided.

All times are timezone-aware UTC datetimes passed in by the caller and stored as fixed-width
ISO strings, so SQL string comparisons order them correctly. Stored times are no finer than
needed, so they line up with nothing else in the file: when a post was written or decided and
a block's times to the minute (the rate limit and draft expiry work at that precision),
delivery due times to the second.
"""

from __future__ import annotations

from bot.services.anonymous.blocks import (
    HeldDecision,
    block,
    blocks,
    decide_held,
    mark_removed,
    purge_expired,
    unblock,
)
from bot.services.anonymous.labels import (
    CircleKeys,
    label_candidates,
    label_for,
)
from bot.services.anonymous.posts import (
    _COUNTED,
    DELAY_RANDOM,
    AnonBlock,
    AnonPost,
    OutboxPass,
    approve,
    begin_pass,
    check_can_post,
    delete_own,
    delete_own_posts,
    discard_draft,
    due_posts,
    due_reviews,
    get_draft,
    get_post,
    mark_announced,
    mark_failed,
    mark_posted,
    mark_sending,
    mark_undeliverable,
    next_delivery_at,
    pending_reviews,
    post_for_message,
    posts_by,
    reject,
    review_send_failed,
    save_draft,
    submit,
)
from bot.services.anonymous.rules import (
    DRAFT_TTL,
    EXCERPT_CHARS,
    KEY_BYTES,
    MAX_NOTE,
    MAX_TEXT,
    RATE_LIMIT,
    RATE_WINDOW,
    TOKEN_BYTES,
    AnonError,
    Blocked,
    CircleClosed,
    InvalidText,
    NotFound,
    RateLimited,
)
from bot.services.anonymous.text import (
    Finding,
    clean_text,
    find_identifying_details,
)

__all__ = [
    "DELAY_RANDOM",
    "DRAFT_TTL",
    "EXCERPT_CHARS",
    "KEY_BYTES",
    "MAX_NOTE",
    "MAX_TEXT",
    "RATE_LIMIT",
    "RATE_WINDOW",
    "TOKEN_BYTES",
    "_COUNTED",
    "AnonBlock",
    "AnonError",
    "AnonPost",
    "Blocked",
    "CircleClosed",
    "CircleKeys",
    "Finding",
    "HeldDecision",
    "InvalidText",
    "NotFound",
    "OutboxPass",
    "RateLimited",
    "approve",
    "begin_pass",
    "block",
    "blocks",
    "check_can_post",
    "clean_text",
    "decide_held",
    "delete_own",
    "delete_own_posts",
    "discard_draft",
    "due_posts",
    "due_reviews",
    "find_identifying_details",
    "get_draft",
    "get_post",
    "label_candidates",
    "label_for",
    "mark_announced",
    "mark_failed",
    "mark_posted",
    "mark_removed",
    "mark_sending",
    "mark_undeliverable",
    "next_delivery_at",
    "pending_reviews",
    "post_for_message",
    "posts_by",
    "purge_expired",
    "reject",
    "review_send_failed",
    "save_draft",
    "submit",
    "unblock",
]
