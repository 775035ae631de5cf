//! The provisioners this server runs jobs with, by provisioner type: the runner picks one per
//! job, and a template version may only name a type registered here.

use std::collections::BTreeMap;
use std::sync::Arc;

use coder_core::model::ProvisionerType;
use coder_core::provision::Provisioner;

/// Provisioners by type; cheap to clone.
#[derive(Clone, Default)]
pub struct Provisioners {
    by_type: BTreeMap<String, Arc<dyn Provisioner>>,
}

impl std::fmt::Debug for Provisioners {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.by_type.keys()).finish()
    }
}

impl Provisioners {
    /// Registers `provisioner` under its own type, replacing any earlier one of that type.
    pub fn register(&mut self, provisioner: Arc<dyn Provisioner>) {
        let key = provisioner.provisioner_type().as_str().to_owned();
        self.by_type.insert(key, provisioner);
    }

    /// The provisioner for `kind`, or a sentence saying which types this server has.
    pub fn get(&self, kind: &ProvisionerType) -> Result<Arc<dyn Provisioner>, String> {
        self.by_type.get(kind.as_str()).cloned().ok_or_else(|| {
            let known: Vec<String> = self.by_type.keys().map(|k| format!("{k:?}")).collect();
            format!(
                "provisioner {:?} is not available on this server; available: {}",
                kind.as_str(),
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            )
        })
    }
}
