//! JSON Lines: the library's `Record`, one object per line (the schema in the README); a
//! crawl's records add `depth`, `parent` and `links`.

use octopus::{Record, Response, Visit};

use super::Printer;

pub struct JsonPrinter {
    /// Print kept bodies (else they were kept only to be matched).
    pub bodies: bool,
}

impl Printer for JsonPrinter {
    fn print(&mut self, response: &Response, found: Option<&Visit>, out: &mut Vec<u8>) {
        let record = match self.bodies {
            true => Record::from(response),
            false => Record::from(response).without_body(),
        };
        // Serialising plain data cannot fail.
        match found {
            None => {
                let _ = serde_json::to_writer(&mut *out, &record);
            }
            Some(visit) => {
                let mut object = serde_json::to_value(&record).unwrap_or_default();
                if let Some(map) = object.as_object_mut() {
                    map.insert("depth".into(), visit.depth().into());
                    map.insert("parent".into(), visit.parent().into());
                    map.insert("links".into(), response.links().len().into());
                }
                let _ = serde_json::to_writer(&mut *out, &object);
            }
        }
        out.push(b'\n');
    }
}
