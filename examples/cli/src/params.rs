//! A build's parameter values, from where Coder's CLI takes them, first source first:
//! `--parameter name=value`, `--rich-parameter-file` (YAML `name: value`), then for each
//! parameter still without a value: with `--use-parameter-defaults` its default (from
//! `--parameter-default`, else the template's); on a terminal a prompt for a required one
//! (type, description, options and validation shown; a bad answer is asked again); without
//! a terminal a missing required parameter is a usage error naming the flag.

use std::collections::BTreeMap;
use std::path::Path;

use coder_core::model::{ParameterType, TemplateVersionParameter, WorkspaceBuildParameter};

use crate::error::{CliError, Result};
use crate::ui::Ui;

/// Where values come from besides the template.
#[derive(Debug, Default)]
pub(crate) struct ParameterSources {
    /// `--parameter`, parsed.
    pub(crate) given: Vec<WorkspaceBuildParameter>,
    /// `--parameter-default`, parsed.
    pub(crate) defaults: Vec<WorkspaceBuildParameter>,
    /// `--use-parameter-defaults`.
    pub(crate) use_defaults: bool,
}

impl ParameterSources {
    /// Reads the flags (and the YAML file, whose values come after `--parameter`'s).
    pub(crate) fn from_flags(
        given: &[String],
        file: Option<&Path>,
        defaults: &[String],
        use_defaults: bool,
    ) -> Result<Self> {
        let mut values = parse_parameters(given)?;
        if let Some(path) = file {
            for p in read_parameter_file(path)? {
                if !values.iter().any(|v| v.name == p.name) {
                    values.push(p);
                }
            }
        }
        Ok(Self {
            given: values,
            defaults: parse_parameters(defaults)?,
            use_defaults,
        })
    }

    /// The values to send for a template with `params`: the given ones, plus one per
    /// parameter still without a value, as the module says.
    pub(crate) fn resolve(
        &self,
        ui: &Ui,
        params: &[TemplateVersionParameter],
    ) -> Result<Vec<WorkspaceBuildParameter>> {
        let mut values = self.given.clone();
        for param in params {
            if values.iter().any(|v| v.name == param.name) || param.ephemeral {
                continue;
            }
            let default = self
                .defaults
                .iter()
                .find(|d| d.name == param.name)
                .map_or(param.default_value.as_str(), |d| d.value.as_str());
            let value = if self.use_defaults && !default.is_empty() {
                default.to_owned()
            } else if !param.required {
                continue;
            } else if ui.can_prompt {
                prompt(ui, param, default)?
            } else {
                return Err(CliError::Usage(format!(
                    "parameter {:?} is required: pass --parameter {}=<value>",
                    param.name, param.name
                )));
            };
            values.push(WorkspaceBuildParameter {
                name: param.name.clone(),
                value,
            });
        }
        Ok(values)
    }
}

/// Asks for `param` until the answer passes its validation; an empty answer takes
/// `default`. With options, the answer may be an option's number or its value.
fn prompt(ui: &Ui, param: &TemplateVersionParameter, default: &str) -> Result<String> {
    let title = if param.display_name.is_empty() {
        &param.name
    } else {
        &param.display_name
    };
    let kind = match &param.type_ {
        ParameterType::ListString => "list(string), as a JSON array".to_owned(),
        other => other.to_string(),
    };
    let mut intro = format!("{title} ({kind})");
    if !param.description_plaintext.is_empty() {
        intro.push_str(&format!("\n  {}", param.description_plaintext.trim()));
    }
    for (i, option) in param.options.iter().enumerate() {
        intro.push_str(&format!(
            "\n  {}. {} ({})",
            i + 1,
            option.name,
            option.value
        ));
    }
    if let Some(rule) = describe_validation(param) {
        intro.push_str(&format!("\n  {rule}"));
    }
    ui.note(&intro);
    loop {
        let label = if default.is_empty() {
            param.name.clone()
        } else {
            format!("{} [{default}]", param.name)
        };
        let answer = ui.ask(&label, "--parameter")?;
        let value = match answer.parse::<usize>() {
            Ok(n) if n >= 1 && n <= param.options.len() => param.options[n - 1].value.clone(),
            _ if answer.is_empty() => default.to_owned(),
            _ => answer,
        };
        match param.validate(&value, None) {
            Ok(()) => return Ok(value),
            Err(e) => ui.note(&format!("  {e}; try again")),
        }
    }
}

fn describe_validation(param: &TemplateVersionParameter) -> Option<String> {
    let mut rules = Vec::new();
    if let Some(min) = param.validation_min {
        rules.push(format!("at least {min}"));
    }
    if let Some(max) = param.validation_max {
        rules.push(format!("at most {max}"));
    }
    if let Some(regex) = param.validation_regex.as_deref().filter(|r| !r.is_empty()) {
        rules.push(format!("matching {regex}"));
    }
    (!rules.is_empty()).then(|| format!("must be {}", rules.join(", ")))
}

/// `--rich-parameter-file`: a YAML mapping of names to values (strings, numbers, booleans;
/// a list becomes the JSON array a `list(string)` parameter takes).
fn read_parameter_file(path: &Path) -> Result<Vec<WorkspaceBuildParameter>> {
    let text = std::fs::read_to_string(path).map_err(CliError::io(path))?;
    let map: BTreeMap<String, serde_yaml_ng::Value> =
        serde_yaml_ng::from_str(&text).map_err(|e| {
            CliError::Usage(format!(
                "--rich-parameter-file {}: not a YAML mapping of names to values: {e}",
                path.display()
            ))
        })?;
    map.into_iter()
        .map(|(name, value)| {
            let value = match value {
                serde_yaml_ng::Value::String(s) => s,
                serde_yaml_ng::Value::Number(n) => n.to_string(),
                serde_yaml_ng::Value::Bool(b) => b.to_string(),
                serde_yaml_ng::Value::Sequence(items) => serde_json::to_string(&items)
                    .map_err(|e| CliError::Usage(format!("{name}: {e}")))?,
                other => {
                    return Err(CliError::Usage(format!(
                        "--rich-parameter-file {}: {name:?} has a value of an unsupported kind: {other:?}",
                        path.display()
                    )));
                }
            };
            Ok(WorkspaceBuildParameter { name, value })
        })
        .collect()
}

/// Parses `name=value` (the value may itself contain `=`, and may be empty).
pub(crate) fn parse_parameter(input: &str) -> Result<WorkspaceBuildParameter> {
    match input.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => Ok(WorkspaceBuildParameter {
            name: name.trim().to_owned(),
            value: value.to_owned(),
        }),
        _ => Err(CliError::Usage(format!(
            "parameter {input:?} must be in the format \"name=value\""
        ))),
    }
}

/// Parses every `--parameter`; a name given twice keeps its last value, in the position of
/// its first appearance.
pub(crate) fn parse_parameters(inputs: &[String]) -> Result<Vec<WorkspaceBuildParameter>> {
    let mut out: Vec<WorkspaceBuildParameter> = Vec::new();
    for input in inputs {
        let p = parse_parameter(input)?;
        match out.iter_mut().find(|q| q.name == p.name) {
            Some(existing) => existing.value = p.value,
            None => out.push(p),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(name: &str, value: &str) -> WorkspaceBuildParameter {
        WorkspaceBuildParameter {
            name: name.into(),
            value: value.into(),
        }
    }

    #[test]
    fn splits_on_the_first_equals_sign() {
        assert_eq!(parse_parameter("region=eu").unwrap(), p("region", "eu"));
        assert_eq!(parse_parameter("cmd=a=b").unwrap(), p("cmd", "a=b"));
        assert_eq!(parse_parameter("empty=").unwrap(), p("empty", ""));
        assert_eq!(parse_parameter(" port =8080").unwrap(), p("port", "8080"));
    }

    #[test]
    fn rejects_a_missing_name_or_equals_sign() {
        for bad in ["region", "=eu", ""] {
            let e = parse_parameter(bad).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!("parameter {bad:?} must be in the format \"name=value\"")
            );
        }
    }

    #[test]
    fn the_yaml_file_gives_strings_numbers_booleans_and_lists() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("params.yaml");
        std::fs::write(&path, "region: eu\nport: 8080\ngpu: true\nzones: [a, b]\n").unwrap();
        assert_eq!(
            read_parameter_file(&path).unwrap(),
            vec![
                p("gpu", "true"),
                p("port", "8080"),
                p("region", "eu"),
                p("zones", "[\"a\",\"b\"]")
            ]
        );
        std::fs::write(&path, "- just a list").unwrap();
        assert!(
            read_parameter_file(&path)
                .unwrap_err()
                .to_string()
                .contains("not a YAML mapping of names to values"),
        );
    }

    #[test]
    fn a_repeated_name_keeps_its_last_value() {
        let args = ["a=1", "b=2", "a=3"].map(String::from);
        assert_eq!(
            parse_parameters(&args).unwrap(),
            vec![p("a", "3"), p("b", "2")]
        );
    }
}
