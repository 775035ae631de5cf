//! The provisioning trait: template archive -> parameters -> plan -> apply/destroy.
