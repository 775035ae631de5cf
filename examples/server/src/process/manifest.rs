//! The process provisioner's template format: a directory (tarred on upload) whose root holds
//! `coder-template.toml` (and optionally `README.md`). See the crate README for the format.

use std::collections::BTreeMap;

use coder_core::model::{
    ParameterType, TemplateVersionParameter, TemplateVersionParameterOption,
    ValidationMonotonicOrder,
};
use serde::Deserialize;

/// The manifest's file name.
pub const MANIFEST: &str = "coder-template.toml";

/// `coder-template.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Parameters a workspace supplies (rich parameters), in display order.
    #[serde(default)]
    pub parameters: Vec<ParameterDecl>,
    /// Agents: each one is a process started with its own agent token.
    #[serde(default)]
    pub agents: Vec<AgentDecl>,
}

/// A `[[parameters]]` entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParameterDecl {
    /// Name (required), unique.
    pub name: String,
    /// Label.
    #[serde(default)]
    pub display_name: String,
    /// Markdown description.
    #[serde(default)]
    pub description: String,
    /// `string` (default), `number`, `bool` or `list(string)`.
    #[serde(default = "string_type", rename = "type")]
    pub type_: String,
    /// Default value; without one the parameter is required.
    pub default: Option<String>,
    /// Whether it may change after the first build (default true).
    #[serde(default = "yes")]
    pub mutable: bool,
    /// Whether the value applies to one build only.
    #[serde(default)]
    pub ephemeral: bool,
    /// Icon URL.
    #[serde(default)]
    pub icon: String,
    /// Validation rules.
    #[serde(default)]
    pub validation: ValidationDecl,
    /// Allowed values.
    #[serde(default)]
    pub options: Vec<OptionDecl>,
}

/// `[parameters.validation]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidationDecl {
    /// Regex a string must match.
    pub regex: Option<String>,
    /// Message shown on failure.
    pub error: Option<String>,
    /// Minimum number.
    pub min: Option<i64>,
    /// Maximum number.
    pub max: Option<i64>,
    /// `increasing` or `decreasing`.
    pub monotonic: Option<String>,
}

/// `[[parameters.options]]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionDecl {
    /// Label.
    pub name: String,
    /// Value.
    pub value: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Icon URL.
    #[serde(default)]
    pub icon: String,
}

/// An `[[agents]]` entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentDecl {
    /// Name (required), unique.
    pub name: String,
    /// The workspace's compute for this agent: a shell command (`sh -c`) started in the
    /// agent's directory with `CODER_AGENT_TOKEN` and `CODER_AGENT_URL` in its environment.
    /// Empty: no process.
    #[serde(default)]
    pub command: String,
    /// Working directory relative to the workspace home (default: the home).
    #[serde(default)]
    pub directory: String,
    /// Script the agent runs at start (reported on the agent; `coder agent` runs it).
    #[serde(default)]
    pub startup_script: String,
    /// Whether logins wait for the startup script.
    #[serde(default)]
    pub startup_script_blocks_login: bool,
    /// Extra environment for the process and sessions.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Apps the agent exposes.
    #[serde(default)]
    pub apps: Vec<AppDecl>,
}

/// An `[[agents.apps]]` entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppDecl {
    /// URL-safe name (required).
    pub slug: String,
    /// Label.
    #[serde(default)]
    pub display_name: String,
    /// Local URL.
    #[serde(default)]
    pub url: String,
    /// Or a command to run in a terminal.
    #[serde(default)]
    pub command: String,
    /// Icon URL.
    #[serde(default)]
    pub icon: String,
}

fn string_type() -> String {
    "string".to_owned()
}

fn yes() -> bool {
    true
}

fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.split(['-', '_'])
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

impl Manifest {
    /// Parses and checks a manifest; errors say what to fix.
    pub fn parse(text: &str) -> Result<Self, String> {
        let m: Manifest = toml::from_str(text).map_err(|e| format!("{MANIFEST}: {e}"))?;
        let mut names = std::collections::HashSet::new();
        for p in &m.parameters {
            if !is_slug(&p.name) {
                return Err(format!(
                    "{MANIFEST}: parameter name {:?} must be letters, digits, - or _",
                    p.name
                ));
            }
            if !names.insert(p.name.clone()) {
                return Err(format!(
                    "{MANIFEST}: parameter {:?} is declared twice",
                    p.name
                ));
            }
            if !["string", "number", "bool", "list(string)"].contains(&p.type_.as_str()) {
                return Err(format!(
                    "{MANIFEST}: parameter {:?} has type {:?}; use string, number, bool or list(string)",
                    p.name, p.type_
                ));
            }
            if let Some(m) = &p.validation.monotonic
                && m != "increasing"
                && m != "decreasing"
            {
                return Err(format!(
                    "{MANIFEST}: parameter {:?}: monotonic must be increasing or decreasing",
                    p.name
                ));
            }
            if let Some(re) = &p.validation.regex {
                regex_check(re).map_err(|e| {
                    format!("{MANIFEST}: parameter {:?}: invalid regex: {e}", p.name)
                })?;
            }
            if let Some(default) = &p.default {
                p.to_parameter()
                    .validate(default, None)
                    .map_err(|e| format!("{MANIFEST}: default of parameter {e}"))?;
            }
        }
        let mut agents = std::collections::HashSet::new();
        for a in &m.agents {
            if !is_slug(&a.name) {
                return Err(format!(
                    "{MANIFEST}: agent name {:?} must be letters, digits, - or _",
                    a.name
                ));
            }
            if !agents.insert(a.name.clone()) {
                return Err(format!("{MANIFEST}: agent {:?} is declared twice", a.name));
            }
            if a.directory.split('/').any(|c| c == "..") || a.directory.starts_with('/') {
                return Err(format!(
                    "{MANIFEST}: agent {:?}: directory must stay inside the workspace home",
                    a.name
                ));
            }
            for app in &a.apps {
                if !is_slug(&app.slug) {
                    return Err(format!(
                        "{MANIFEST}: agent {:?}: app slug {:?} is not URL-safe",
                        a.name, app.slug
                    ));
                }
            }
        }
        Ok(m)
    }

    /// The rich parameters, as the API shows them.
    pub fn parameters(&self) -> Vec<TemplateVersionParameter> {
        self.parameters
            .iter()
            .map(ParameterDecl::to_parameter)
            .collect()
    }
}

fn regex_check(re: &str) -> Result<(), String> {
    // coder-core validates with the `regex` crate; reuse its validation path.
    let probe = TemplateVersionParameter {
        name: "probe".into(),
        type_: ParameterType::String,
        validation_regex: Some(re.to_owned()),
        ..Default::default()
    };
    match probe.validate("", None) {
        Err(e) if e.to_string().contains("validation_regex is invalid") => Err(e.to_string()),
        _ => Ok(()),
    }
}

impl ParameterDecl {
    /// As a `TemplateVersionParameter`.
    pub fn to_parameter(&self) -> TemplateVersionParameter {
        TemplateVersionParameter {
            name: self.name.clone(),
            display_name: self.display_name.clone(),
            description: self.description.clone(),
            description_plaintext: self.description.clone(),
            type_: self.type_.parse().unwrap_or_default(),
            mutable: self.mutable,
            default_value: self.default.clone().unwrap_or_default(),
            icon: self.icon.clone(),
            options: self
                .options
                .iter()
                .map(|o| TemplateVersionParameterOption {
                    name: o.name.clone(),
                    description: o.description.clone(),
                    value: o.value.clone(),
                    icon: o.icon.clone(),
                })
                .collect(),
            validation_regex: self.validation.regex.clone(),
            validation_min: self.validation.min,
            validation_max: self.validation.max,
            validation_monotonic: self.validation.monotonic.as_deref().map(|m| {
                if m == "decreasing" {
                    ValidationMonotonicOrder::Decreasing
                } else {
                    ValidationMonotonicOrder::Increasing
                }
            }),
            validation_error: self.validation.error.clone(),
            required: self.default.is_none(),
            ephemeral: self.ephemeral,
        }
    }
}
