//! What a file is, from its first bytes (magic numbers), never from its name.

use beseda_core::attachment::AttachmentKind;

/// How many leading bytes decide a file's type.
pub const HEAD_BYTES: usize = 8192;

/// The raster formats we decode for previews; every other image, SVG included, is a file.
const PREVIEWABLE: [&str; 4] = ["image/jpeg", "image/png", "image/gif", "image/webp"];

/// The kind and MIME type of a file that starts with `head`.
pub fn classify(head: &[u8]) -> (AttachmentKind, String) {
    let Some(t) = infer::get(head) else {
        return (AttachmentKind::File, "application/octet-stream".into());
    };
    let mime = t.mime_type();
    let kind = match t.matcher_type() {
        infer::MatcherType::Image if PREVIEWABLE.contains(&mime) => AttachmentKind::Image,
        infer::MatcherType::Audio => AttachmentKind::Audio,
        infer::MatcherType::Video => AttachmentKind::Video,
        _ => AttachmentKind::File,
    };
    (kind, mime.to_owned())
}

/// A file name fit to store and show: no directories, no control characters, at most 255
/// bytes; "file" when nothing is left.
pub fn clean_name(raw: Option<&str>) -> String {
    let base = raw
        .unwrap_or("")
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>();
    let mut name = base.trim().to_owned();
    while name.len() > 255 {
        name.pop();
    }
    if name.is_empty() || name == "." || name == ".." {
        "file".into()
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_content_decides_not_the_name() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        assert_eq!(classify(png), (AttachmentKind::Image, "image/png".into()));
        let pdf = b"%PDF-1.7\n";
        assert_eq!(classify(pdf).0, AttachmentKind::File);
        let svg = b"<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\"></svg>";
        assert_eq!(
            classify(svg).0,
            AttachmentKind::File,
            "SVG is never an image"
        );
        assert_eq!(
            classify(b"just text"),
            (AttachmentKind::File, "application/octet-stream".into())
        );
        let mp3 = b"ID3\x03\0\0\0\0\0\0";
        assert_eq!(classify(mp3).0, AttachmentKind::Audio);
    }

    #[test]
    fn names_lose_directories_and_control_characters() {
        assert_eq!(clean_name(Some("../../etc/passwd")), "passwd");
        assert_eq!(clean_name(Some("C:\\Users\\a\\отчёт.pdf")), "отчёт.pdf");
        assert_eq!(clean_name(Some("a\u{0}b\nc.txt")), "abc.txt");
        assert_eq!(clean_name(None), "file");
        assert_eq!(clean_name(Some("..")), "file");
        assert!(clean_name(Some(&"я".repeat(300))).len() <= 255);
    }
}
