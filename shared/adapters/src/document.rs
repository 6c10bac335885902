//! Renders a will as a PDF (pdf-writer, the standard Helvetica font). The content
//! stream is left uncompressed: the document is small, and its text stays searchable.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};
use serde_json::Value;

use domain::will::Will;

const PAGE_WIDTH: f32 = 595.0; // A4 in points
const PAGE_HEIGHT: f32 = 842.0;
const MARGIN: f32 = 56.0;
const LINE: f32 = 16.0;
const MAX_LINES: usize = 44;

/// The will's lines of text, in order.
fn lines(will: &Will) -> Vec<String> {
    let section = |name: &str| will.sections.get(name).cloned().unwrap_or(Value::Null);
    let text = |v: &Value, field: &str| v.get(field).and_then(Value::as_str).unwrap_or("").to_owned();
    let names = |v: &Value, field: &str| -> Vec<String> {
        v.get(field).and_then(Value::as_array).into_iter().flatten().map(|p| text(p, "full_name")).collect()
    };
    let personal = section("personal");
    let name = text(&personal, "full_name");
    let mut out = vec![
        "LAST WILL AND TESTAMENT".to_owned(),
        String::new(),
        format!("I, {name}, born {}, of {},", text(&personal, "date_of_birth"), text(&personal, "address")),
        "declare this to be my last will.".to_owned(),
        String::new(),
        "Executors:".to_owned(),
    ];
    out.extend(names(&section("executors"), "executors").into_iter().map(|n| format!("  - {n}")));
    let guardians = names(&section("guardians"), "guardians");
    if !guardians.is_empty() {
        out.push("Guardians:".to_owned());
        out.extend(guardians.into_iter().map(|n| format!("  - {n}")));
    }
    out.push("The residue of my estate goes to:".to_owned());
    out.extend(names(&section("residuary"), "beneficiaries").into_iter().map(|n| format!("  - {n}")));
    let wishes = text(&section("funeral"), "wishes");
    if !wishes.is_empty() {
        out.push(format!("Funeral wishes: {wishes}"));
    }
    out.push(String::new());
    out.push(format!("Document version {}", will.version));
    out.push(format!("Will {}", will.id));
    out.truncate(MAX_LINES);
    out
}

/// Helvetica speaks WinAnsi; anything else is shown as '?'.
fn winansi(line: &str) -> Vec<u8> {
    line.chars().map(|c| if (' '..='~').contains(&c) { c as u8 } else { b'?' }).collect()
}

pub fn render_will(will: &Will) -> Vec<u8> {
    let (catalog, pages, page, font, contents) = (Ref::new(1), Ref::new(2), Ref::new(3), Ref::new(4), Ref::new(5));
    let font_name = Name(b"F1");
    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(pages);
    pdf.pages(pages).kids([page]).count(1);
    let mut page_writer = pdf.page(page);
    page_writer.media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT)).parent(pages).contents(contents);
    page_writer.resources().fonts().pair(font_name, font);
    page_writer.finish();
    pdf.type1_font(font).base_font(Name(b"Helvetica"));

    let mut content = Content::new();
    content.begin_text();
    content.set_font(font_name, 12.0);
    content.set_leading(LINE);
    content.next_line(MARGIN, PAGE_HEIGHT - MARGIN);
    for line in lines(will) {
        content.show(Str(&winansi(&line)));
        content.next_line_using_leading();
    }
    content.end_text();
    pdf.stream(contents, &content.finish());
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use serde_json::json;

    use super::*;

    #[test]
    fn renders_a_one_page_pdf_with_the_testator_and_version() {
        let mut will = Will::new("w".into(), "u", Utc::now());
        will.sections.insert("personal".into(), json!({"full_name": "Ada Lovelace", "date_of_birth": "1815-12-10", "address": "London"}));
        will.sections.insert("executors".into(), json!({"executors": [{"full_name": "Mary Somerville"}]}));
        will.version = 3;
        let pdf = render_will(&will);
        let text = String::from_utf8_lossy(&pdf);
        assert!(pdf.starts_with(b"%PDF-1."));
        assert!(text.contains("/Type /Catalog") && text.contains("/BaseFont /Helvetica") && text.contains("startxref"));
        assert!(text.contains("(I, Ada Lovelace, born 1815-12-10, of London,) Tj"), "{text}");
        assert!(text.contains("(  - Mary Somerville) Tj"));
        assert!(text.contains("(Document version 3) Tj"));
        if let Ok(path) = std::env::var("WRITE_SAMPLE_PDF") {
            std::fs::write(path, &pdf).unwrap();
        }
    }

    #[test]
    fn non_latin_text_cannot_break_the_content_stream() {
        assert_eq!(winansi("Zoë (née) \\ 李"), b"Zo? (n?e) \\ ?".to_vec());
    }
}
