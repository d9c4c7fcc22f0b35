"""Layer 13: what a node shows its operators: Prometheus metrics, alerts with webhooks, and a dashboard.

The node (layer 9) never imports this package; the CLI builds an :class:`harmony.ops.service.OpsService`
over the node's read-only ``status()`` and chain database and starts it in the node's nursery.
"""
