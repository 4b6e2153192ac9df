//! JSON Lines: the library's `Record`, one object per line (the schema in the README).

use octopus::{Record, Response};

use super::Printer;

pub struct JsonPrinter {
    /// Print kept bodies (else they were kept only to be matched).
    pub bodies: bool,
}

impl Printer for JsonPrinter {
    fn print(&mut self, response: &Response, out: &mut Vec<u8>) {
        let record = match self.bodies {
            true => Record::from(response),
            false => Record::from(response).without_body(),
        };
        // Serialising plain data into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, &record);
        out.push(b'\n');
    }
}
