// Package kv holds Touchstone's ephemeral shared state: values with a time to
// live, fixed-window counters, expiring locks and publish/subscribe fan-out.
//
// Everything in kv may be lost at any moment — a restart of the embedded
// server, a Redis failover, an eviction — and the product must carry on,
// rebuilding what it needs from the database. It belongs here when losing it
// costs at most a little time or a brief loss of precision:
//
//   - rate-limit counters (a lost window lets a few extra requests through);
//   - locks that keep instances from doing the same work twice (the work
//     itself must still be idempotent: a lock expires, a holder can stall);
//   - caches of values whose source of truth is the database, such as the
//     deadline of an attempt in progress;
//   - live fan-out between instances: proctoring events and dashboard updates
//     pushed to server-sent-event streams, where a missed message is shown
//     again on the next refresh.
//
// It never holds anything a candidate or a court could care about: answers,
// responses, scores, decisions, standards, credentials, keys, sessions that
// must survive a restart, or audit records. Those live in the database, and an
// answer is acknowledged only once it is there. Nor is kv a queue: pub/sub
// delivers to whoever is listening at the time, and a subscriber that falls
// behind may miss messages.
//
// Two implementations share the Store interface and one contract test suite
// (package kvtest): Memory, in-process, for the embedded single-instance
// default; and Redis, for production with many instances.
package kv
