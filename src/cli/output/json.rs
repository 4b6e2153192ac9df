//! JSON Lines: the library's `Record`, one object per line (the schema in the README).

use octopus::{Record, Response};

use super::Printer;

pub struct JsonPrinter;

impl Printer for JsonPrinter {
    fn print(&self, response: &Response, out: &mut Vec<u8>) {
        // Serialising plain data into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, &Record::from(response));
        out.push(b'\n');
    }
}
