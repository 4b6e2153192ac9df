//! `schema/record.schema.json` and `schema/summary.schema.json` (JSON Schema 2020-12) checked
//! against real output with the `jsonschema` crate: every kind of record a run writes
//! (failures, redirects, every optional field, skipped lines) and its summary.

mod common;
use common::*;

use std::path::Path;

use jsonschema::Validator;
use serde_json::{Value, json};

fn validator(name: &str) -> Validator {
    // schema/ is at the workspace root, two folders above this crate.
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../schema")
        .join(name);
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert!(
        jsonschema::meta::is_valid(&schema),
        "{name} is a valid JSON Schema"
    );
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

fn assert_valid(validator: &Validator, instance: &Value) {
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?} in {instance}");
}

#[test]
fn every_kind_of_record_and_the_summary_match_their_schemas() {
    let records_schema = validator("record.schema.json");
    let summary_schema = validator("summary.schema.json");
    let s = server();
    let dir = Dir::new("schema");
    let urls = [
        s.url("/html"),
        s.url("/gzip"),
        s.url("/binary/300"),
        s.url("/headers/3"),
        s.url("/redirect/2"),
        s.url("/status/404"),
        s.url("/html"),
        "not a url".to_string(),
        "http://127.0.0.1:1/refused".to_string(),
    ];
    let list = dir.0.join("urls.txt");
    std::fs::write(&list, urls.join("\n")).unwrap();
    let run = |extra: &[&str]| {
        octopus()
            .args([
                "--json",
                "--include-headers",
                "--include-body",
                "--hash=sha256,sha1,sha512,md5",
                "--title",
                "--skip-existing",
                "--output-dir",
            ])
            .arg(dir.0.join("saved"))
            .arg("--warc")
            .arg(dir.0.join("a.warc.gz"))
            .args(extra)
            .arg(&list)
            .output()
            .unwrap()
    };
    for out in [run(&[]), run(&["--stats"])] {
        let recs = records(&out);
        assert_eq!(recs.len(), urls.len());
        for record in &recs {
            assert_valid(&records_schema, record);
        }
        assert_valid(&summary_schema, &json_summary(&out));
    }
    // A crawl's records and its summary, with the crawl's counts.
    let crawled = octopus()
        .args(["crawl", "--json", "--depth", "1"])
        .arg(s.url("/site/0"))
        .output()
        .unwrap();
    for record in &records(&crawled) {
        assert_valid(&records_schema, record);
    }
    let summary = json_summary(&crawled);
    assert!(summary["crawl"]["pages"].as_u64().is_some_and(|n| n > 1));
    assert_valid(&summary_schema, &summary);
    // The second run skipped what the first saved: `skipped` records are there too.
    let second = records(&run(&[]));
    assert!(second.iter().any(|r| r["skipped"] == true));
    // Plain records, without any optional field.
    let plain = octopus().arg("--json").arg(&list).output().unwrap();
    for record in &records(&plain) {
        assert_valid(&records_schema, record);
    }
}

#[test]
fn the_schemas_reject_what_octopus_does_not_write() {
    let records_schema = validator("record.schema.json");
    let s = server();
    let out = octopus().args(["--json", &s.url("/a")]).output().unwrap();
    let record = records(&out).remove(0);
    assert_valid(&records_schema, &record);
    let mut extra = record.clone();
    extra["surprise"] = json!(1);
    assert!(
        !records_schema.is_valid(&extra),
        "unknown fields are refused"
    );
    let mut wrong = record.clone();
    wrong["status"] = json!("200");
    assert!(!records_schema.is_valid(&wrong));
    let mut missing = record;
    missing.as_object_mut().unwrap().remove("finished_at");
    assert!(!records_schema.is_valid(&missing));
    let summary_schema = validator("summary.schema.json");
    assert!(!summary_schema.is_valid(&json!({"type": "summary"})));
}
