"""Fakes of every platform, on loopback: servers that speak each platform's wire format, and in-process fakes.

- ``loopback``: the one ``LoopbackServer`` base (127.0.0.1, a free port, start/close), ``RecordingServer``
  (request log and injected faults), ``free_port`` for servers run as subprocesses.
- ``slack`` (with ``slack_payloads`` and ``slack_blockkit``): the Slack Web API, Socket Mode, response URLs.
- ``mastodon``, ``bluesky``: the social platforms' REST/streaming and XRPC endpoints.
- ``graph``: the Graph API of a Facebook Page and an Instagram account (paging, error envelopes, usage
  headers, Messenger private replies), and Meta-signed webhook deliveries.
- ``feeds``: a host serving Atom/RSS documents, and misbehaving on request.
- ``synapse``: a real Synapse homeserver started on loopback (a subprocess).
- ``storms``: the servers above with a storm gate in front, and a proxy in front of Synapse.
- ``recording``: a desk and a source in-process (``RecordingDesk``, ``FakeSource``) for core tests.
"""
