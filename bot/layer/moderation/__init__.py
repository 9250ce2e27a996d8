"""The moderators' side of posts, shared by the anonymous flow and `/mod`: Report, the held-post
and report decision buttons, the report form, and what each decision does.
"""
