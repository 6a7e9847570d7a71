//! Plex answer documents: one element tree rendered as XML (the default) or as the JSON Plex
//! gives for `Accept: application/json`, where the root becomes `{"MediaContainer": {…}}`,
//! attributes become fields and children become arrays named after their element.

use quick_xml::escape::escape;
use serde_json::{Map, Value as Json};

/// An XML element with attributes and children.
#[derive(Debug, Clone)]
pub(crate) struct El {
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<El>,
}

impl El {
    pub(crate) fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            attrs: Vec::new(),
            children: Vec::new(),
        }
    }

    pub(crate) fn attr(mut self, name: &str, value: impl ToString) -> Self {
        self.attrs.push((name.to_owned(), value.to_string()));
        self
    }

    pub(crate) fn flag(self, name: &str, value: bool) -> Self {
        self.attr(name, if value { "1" } else { "0" })
    }

    pub(crate) fn child(mut self, child: El) -> Self {
        self.children.push(child);
        self
    }

    pub(crate) fn children(mut self, children: impl IntoIterator<Item = El>) -> Self {
        self.children.extend(children);
        self
    }

    /// The document as XML with its declaration.
    pub(crate) fn to_xml(&self) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        self.write_xml(&mut out, 0);
        out
    }

    fn write_xml(&self, out: &mut String, depth: usize) {
        out.push_str(&"  ".repeat(depth));
        out.push('<');
        out.push_str(&self.name);
        for (name, value) in &self.attrs {
            out.push(' ');
            out.push_str(name);
            out.push_str("=\"");
            out.push_str(&escape(value.as_str()));
            out.push('"');
        }
        if self.children.is_empty() {
            out.push_str("/>\n");
            return;
        }
        out.push_str(">\n");
        for child in &self.children {
            child.write_xml(out, depth + 1);
        }
        out.push_str(&"  ".repeat(depth));
        out.push_str("</");
        out.push_str(&self.name);
        out.push_str(">\n");
    }

    /// The document as Plex's JSON.
    pub(crate) fn to_json(&self) -> Json {
        let mut root = Map::new();
        root.insert(self.name.clone(), self.json_body());
        Json::Object(root)
    }

    fn json_body(&self) -> Json {
        let mut object = Map::new();
        for (name, value) in &self.attrs {
            object.insert(name.clone(), Json::String(value.clone()));
        }
        for child in &self.children {
            let slot = object
                .entry(child.name.clone())
                .or_insert_with(|| Json::Array(Vec::new()));
            if let Json::Array(items) = slot {
                items.push(child.json_body());
            }
        }
        Json::Object(object)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn xml_and_json_agree() {
        let doc = El::new("MediaContainer")
            .attr("size", 2)
            .child(El::new("User").attr("id", 1).attr("title", "a & \"b\""))
            .child(El::new("User").attr("id", 2));
        let xml = doc.to_xml();
        assert!(
            xml.contains(r#"<User id="1" title="a &amp; &quot;b&quot;"/>"#),
            "{xml}"
        );
        let json = doc.to_json();
        assert_eq!(json["MediaContainer"]["User"][1]["id"], "2");
        assert_eq!(json["MediaContainer"]["size"], "2");
    }
}
