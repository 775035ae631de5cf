//! Workspace build states: status derived from job status × transition, allowed transitions.
