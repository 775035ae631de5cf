//! Schedule rules: autostop deadlines, activity bump, autostart, extend, failure TTL, dormancy.
