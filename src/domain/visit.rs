//! Household visits (百人访百户, seed 001): staff visit customers with a questionnaire during the
//! service month. The questionnaire is configurable; answers are checked against it.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::Invalid;

/// How a question is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerKind {
    /// 1 (poor) to 5 (excellent).
    Score,
    /// true or false.
    YesNo,
    /// Free text, up to 500 characters.
    Text,
}

/// One question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    /// The answer's key, e.g. `signal`.
    pub key: String,
    /// The question as staff read it out.
    pub text: String,
    pub kind: AnswerKind,
    /// An unanswered required question refuses the visit.
    #[serde(default)]
    pub required: bool,
}

/// The questionnaire in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Questionnaire {
    pub questions: Vec<Question>,
}

impl Default for Questionnaire {
    /// Seed 001's questions: signal quality, repair quality, attitude, whether the
    /// repair-upon-report regime was kept, suggestions.
    fn default() -> Self {
        let q = |key: &str, text: &str, kind, required| Question {
            key: key.into(),
            text: text.into(),
            kind,
            required,
        };
        Questionnaire {
            questions: vec![
                q("signal", "收视/上网信号质量如何？", AnswerKind::Score, true),
                q("repair_quality", "维修质量如何？", AnswerKind::Score, false),
                q("attitude", "服务人员态度如何？", AnswerKind::Score, true),
                q(
                    "regime_kept",
                    "报修后是否按时联系、按约上门、按时修复？",
                    AnswerKind::YesNo,
                    false,
                ),
                q("suggestions", "意见和建议", AnswerKind::Text, false),
            ],
        }
    }
}

impl Questionnaire {
    /// A questionnaire from TOML (`[[questions]]` tables with `key`, `text`, `kind`,
    /// `required`): keys must be unique, simple words.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let q: Questionnaire =
            toml::from_str(text).map_err(|e| format!("not a questionnaire: {e}"))?;
        if q.questions.is_empty() {
            return Err("a questionnaire needs at least one question".into());
        }
        let mut seen = std::collections::HashSet::new();
        for question in &q.questions {
            let k = &question.key;
            if k.is_empty()
                || k.len() > 40
                || !k
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                return Err(format!("`{k}` is not a key (a-z, 0-9, _; up to 40)"));
            }
            if !seen.insert(k.clone()) {
                return Err(format!("`{k}` is asked twice"));
            }
            if question.text.trim().is_empty() {
                return Err(format!("`{k}` has no text"));
            }
        }
        Ok(q)
    }

    /// Checks a visit's answers (an object keyed by question): each of the right kind, every
    /// required one there, nothing that was not asked. Answers them normalised (text trimmed,
    /// empty text left out).
    pub fn check(&self, field: &str, answers: &Value) -> Result<Map<String, Value>, Invalid> {
        let Value::Object(given) = answers else {
            return Err(Invalid::new(field, "must be an object keyed by question"));
        };
        if let Some(k) = given
            .keys()
            .find(|k| !self.questions.iter().any(|q| &q.key == *k))
        {
            return Err(Invalid::new(
                format!("{field}.{k}"),
                "is not a question of the questionnaire",
            ));
        }
        let mut out = Map::new();
        for q in &self.questions {
            let at = format!("{field}.{}", q.key);
            let value = given.get(&q.key).filter(|v| !v.is_null());
            let Some(v) = value else {
                if q.required {
                    return Err(Invalid::new(at, "is required"));
                }
                continue;
            };
            let checked = match q.kind {
                AnswerKind::Score => match v.as_i64() {
                    Some(n) if (1..=5).contains(&n) => Value::from(n),
                    _ => return Err(Invalid::new(at, "must be a whole number from 1 to 5")),
                },
                AnswerKind::YesNo => match v.as_bool() {
                    Some(b) => Value::from(b),
                    None => return Err(Invalid::new(at, "must be true or false")),
                },
                AnswerKind::Text => match v.as_str() {
                    Some(s) if s.chars().count() <= 500 => {
                        let s = s.trim();
                        if s.is_empty() {
                            if q.required {
                                return Err(Invalid::new(at, "is required"));
                            }
                            continue;
                        }
                        Value::from(s)
                    }
                    _ => return Err(Invalid::new(at, "must be text of up to 500 characters")),
                },
            };
            out.insert(q.key.clone(), checked);
        }
        Ok(out)
    }
}

/// How far a person is with their visits this month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub visits: u32,
    pub target: u32,
}

impl Progress {
    /// Percent of the target, two decimals (capped at nothing: 120 visits of 100 is 120 %).
    pub fn percent(&self) -> Option<f64> {
        (self.target > 0)
            .then(|| super::scoring::round2(self.visits as f64 * 100.0 / self.target as f64))
    }

    pub fn met(&self) -> bool {
        self.visits >= self.target
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn answers_are_checked_against_the_questionnaire() {
        let q = Questionnaire::default();
        let ok = q
            .check(
                "answers",
                &json!({"signal": 4, "attitude": 5, "regime_kept": true, "suggestions": "  晚上信号差 "}),
            )
            .unwrap();
        assert_eq!(ok["suggestions"], "晚上信号差");
        assert!(!ok.contains_key("repair_quality"));
        let field = |v: Value| q.check("answers", &v).unwrap_err().field;
        assert_eq!(field(json!({"attitude": 5})), "answers.signal");
        assert_eq!(field(json!({"signal": 6, "attitude": 5})), "answers.signal");
        assert_eq!(
            field(json!({"signal": 4.5, "attitude": 5})),
            "answers.signal"
        );
        assert_eq!(
            field(json!({"signal": 4, "attitude": 5, "regime_kept": "yes"})),
            "answers.regime_kept"
        );
        assert_eq!(
            field(json!({"signal": 4, "attitude": 5, "price": 3})),
            "answers.price"
        );
        assert_eq!(field(json!([1, 2])), "answers");
        let long = "长".repeat(501);
        assert_eq!(
            field(json!({"signal": 4, "attitude": 5, "suggestions": long})),
            "answers.suggestions"
        );
    }

    #[test]
    fn questionnaires_from_toml() {
        let q = Questionnaire::from_toml(
            "[[questions]]\nkey = \"signal\"\ntext = \"信号\"\nkind = \"score\"\nrequired = true\n\
             [[questions]]\nkey = \"note\"\ntext = \"备注\"\nkind = \"text\"\n",
        )
        .unwrap();
        assert_eq!(q.questions.len(), 2);
        assert!(!q.questions[1].required);
        for bad in [
            "",
            "[[questions]]\nkey = \"Signal\"\ntext = \"x\"\nkind = \"score\"\n",
            "[[questions]]\nkey = \"a\"\ntext = \"x\"\nkind = \"stars\"\n",
            "[[questions]]\nkey = \"a\"\ntext = \"x\"\nkind = \"text\"\n[[questions]]\nkey = \"a\"\ntext = \"y\"\nkind = \"text\"\n",
            "[[questions]]\nkey = \"a\"\ntext = \" \"\nkind = \"text\"\n",
        ] {
            assert!(Questionnaire::from_toml(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn progress_against_the_target() {
        let p = Progress {
            visits: 37,
            target: 100,
        };
        assert_eq!(p.percent(), Some(37.0));
        assert!(!p.met());
        let p = Progress {
            visits: 2,
            target: 3,
        };
        assert_eq!(p.percent(), Some(66.67));
        assert!(Progress {
            visits: 3,
            target: 3
        }
        .met());
    }
}
