"""The clarity-js wire format: upload bodies, the envelope, event types and the DOM stream."""
