//! Terraform configuration (`*.tf`): images in resource and module blocks,
//! read with an HCL parser that keeps byte spans (`hcl-edit`).
//!
//! Rule: at any depth of blocks, an attribute `image` or `image_uri` is an
//! occurrence (`kubernetes_*` `container { image = … }`, Lambda
//! `image_uri`, Cloud Run and Azure containers), and so is an `image` key
//! inside an object expression at any depth (`container_definitions =
//! jsonencode([{ image = … }])`) and inside a heredoc holding JSON
//! (`container_definitions = <<EOF [{"image": …}] EOF`). A string is a
//! literal when its text between the quotes is its value; interpolated
//! strings (`"${var.repo}:1.0"`) and expressions (`var.image`,
//! `local.image`) are skipped with the expression as the reason.

use std::ops::Range;

use hcl_edit::expr::{Expression, ObjectKey};
use hcl_edit::structure::Body;
use hcl_edit::Span;

use super::classify::occurrence;
use super::tree::{join_index, join_key, Node, Scalar};
use super::{json, LocateError, Occurrence, SkipReason};

/// Attribute and object keys whose value is an image.
const IMAGE_KEYS: [&str; 2] = ["image", "image_uri"];

/// Every image in `text` (the whole file, BOM included), in file order.
pub(crate) fn collect(text: &str) -> Result<Vec<Occurrence>, LocateError> {
    let base = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let source = &text[base..];
    let parsed = super::guard::guarded("the HCL parser (hcl-edit)", base, || {
        hcl_edit::parser::parse_body(source)
    })?;
    let body = parsed.map_err(|e| LocateError {
        offset: base + e.location().offset().min(source.len()),
        message: format!("invalid HCL: {}", e.message()),
    })?;
    let mut walker = Walker {
        text,
        base,
        out: Vec::new(),
    };
    walker.body(&body, "");
    Ok(walker.out)
}

struct Walker<'a> {
    text: &'a str,
    /// Length of the BOM the parser did not see: its spans start after it.
    base: usize,
    out: Vec<Occurrence>,
}

impl Walker<'_> {
    fn span(&self, span: Option<Range<usize>>) -> Range<usize> {
        let span = span.unwrap_or(0..0);
        (span.start + self.base).min(self.text.len())..(span.end + self.base).min(self.text.len())
    }

    fn body(&mut self, body: &Body, path: &str) {
        for attribute in body.attributes() {
            let path = join_key(path, attribute.key.as_str());
            if IMAGE_KEYS.contains(&attribute.key.as_str()) {
                self.image(&attribute.value, path);
            } else {
                self.expression(&attribute.value, &path);
            }
        }
        for block in body.blocks() {
            let mut path = join_key(path, block.ident.as_str());
            for label in &block.labels {
                path = join_key(&path, label.as_str());
            }
            self.body(&block.body, &path);
        }
    }

    /// Images inside an expression that is not itself an image.
    fn expression(&mut self, expression: &Expression, path: &str) {
        match expression {
            Expression::FuncCall(call) => {
                for arg in call.args.iter() {
                    self.expression(arg, path);
                }
            }
            Expression::Parenthesis(inner) => self.expression(inner.inner(), path),
            Expression::Array(array) => {
                for (i, item) in array.iter().enumerate() {
                    self.expression(item, &join_index(path, i));
                }
            }
            Expression::Object(object) => {
                for (key, value) in object.iter() {
                    let name = match key {
                        ObjectKey::Ident(ident) => ident.as_str().to_string(),
                        ObjectKey::Expression(Expression::String(s)) => s.value().clone(),
                        ObjectKey::Expression(_) => continue,
                    };
                    let path = join_key(path, &name);
                    if IMAGE_KEYS.contains(&name.as_str()) {
                        self.image(value.expr(), path);
                    } else {
                        self.expression(value.expr(), &path);
                    }
                }
            }
            Expression::HeredocTemplate(heredoc) => {
                let span = self.span(heredoc.template.span());
                self.json(span, path);
            }
            _ => {}
        }
    }

    /// JSON held in a heredoc (an ECS `container_definitions`): its `image`
    /// keys at any depth, spans moved to the file.
    fn json(&mut self, span: Range<usize>, path: &str) {
        let Some(body) = self.text.get(span.clone()) else {
            return;
        };
        let Ok(root) = json::parse(body) else {
            return;
        };
        let mut found = Vec::new();
        json_images(&root, path, &mut found);
        for mut o in found {
            o.span = o.span.start + span.start..o.span.end + span.start;
            self.out.push(o);
        }
    }

    /// The occurrence of an image-valued expression.
    fn image(&mut self, expression: &Expression, path: String) {
        let span = self.span(expression.span());
        let raw = &self.text[span.clone()];
        // A quoted string, its span inside the quotes: a literal when its
        // text is its value; an interpolated one reads as its own text,
        // which names the interpolation.
        let quoted = |value: String| {
            let inner = span.start + 1..span.end - 1;
            let scalar = Scalar {
                raw_matches_value: self.text[inner.clone()] == value,
                value: value.into(),
                span: inner,
                quoted: true,
                is_string: true,
                custom_tag: None,
            };
            occurrence(&Node::Scalar(scalar), path.clone())
        };
        let found = match expression {
            Expression::String(s) if raw.len() >= 2 => quoted(s.value().clone()),
            Expression::StringTemplate(_) if raw.len() >= 2 && raw.starts_with('"') => {
                quoted(raw[1..raw.len() - 1].to_string())
            }
            // Heredocs and expressions are computed by
            // Terraform: the expression as written is the reason.
            _ => {
                let shown = raw.trim().trim_matches('"');
                let mut shown: String = shown.chars().take(80).collect();
                if shown.len() < raw.trim().trim_matches('"').len() {
                    shown.push('…');
                }
                Occurrence {
                    span: span.start..span.start,
                    text: raw.trim().to_string(),
                    location: path,
                    skip: Some(SkipReason::Templated(shown)),
                    platform: None,
                    shown_at: None,
                    tag_per_launch: false,
                    splice: super::Splice::Reference,
                }
            }
        };
        self.out.push(found);
    }
}

/// `image` keys at any depth of a JSON value.
fn json_images(node: &Node, path: &str, out: &mut Vec<Occurrence>) {
    match node {
        Node::Map { entries, .. } => {
            for (key, value) in entries {
                let path = join_key(path, key);
                if IMAGE_KEYS.contains(&key.as_str()) {
                    out.push(occurrence(value, path));
                } else {
                    json_images(value, &path, out);
                }
            }
        }
        Node::Seq { items, .. } => {
            for (i, item) in items.iter().enumerate() {
                json_images(item, &join_index(path, i), out);
            }
        }
        Node::Scalar(_) => {}
    }
}
