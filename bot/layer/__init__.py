"""The Discord layer: what several cogs use, below them all. It imports `bot.*`, never `cogs.*`.

- `threads`, `access`: reaching a circle's thread; which circle an interaction is about and
  who may act in it;
- `posting`: the anonymous posting flow (form, checks, acknowledgement) and the `Outbox` that
  sends posts when their wait is over (one per bot, `bot.outbox`);
- `clock`: the circles' clock for pauses and turns (`bot.clock`);
- `breaks`: I need a break, on cards and prompts alike;
- `moderation`: the moderators' buttons on posts and in the queue, the report form, and what
  their decisions do;
- `errors`: refusals and errors as private replies; `buttons` and `custom_ids`: persistent
  buttons and every custom id they carry; `resource_card`, `discord_utils`, `timing`.
"""
