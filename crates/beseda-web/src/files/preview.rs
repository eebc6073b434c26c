//! Image previews (F27): decoded and scaled on the blocking pool, never on the async threads,
//! with limits so that a small file cannot claim a huge canvas.

use image::{ImageReader, Limits};
use std::io::Cursor;

/// The longer side of a preview, in pixels.
const SIDE: u32 = 320;
/// Images above this many bytes get no preview (they are kept in memory to make one).
pub const MAX_SOURCE_BYTES: usize = 64 * 1024 * 1024;
/// The largest canvas decoded, checked from the header before decoding: 100 megapixels.
const MAX_SIDE: u32 = 10_000;
/// The most memory one decode may take (100 megapixels of RGB, with room).
pub const MAX_ALLOC: u64 = 320 * 1024 * 1024;

pub struct Preview {
    pub jpeg: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// A JPEG preview of an image, with the original's size; `None` when it does not decode.
pub fn make(bytes: &[u8]) -> Option<Preview> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .ok()?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    let img = reader.decode().ok()?;
    let (width, height) = (img.width(), img.height());
    let small = img.thumbnail(SIDE, SIDE).to_rgb8();
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 80)
        .encode_image(&small)
        .ok()?;
    Some(Preview {
        jpeg,
        width,
        height,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_png_gets_a_small_jpeg_and_its_size() {
        let img = image::RgbImage::from_pixel(800, 400, image::Rgb([200, 30, 30]));
        let mut png = Vec::new();
        img.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let p = make(&png).expect("a preview");
        assert_eq!((p.width, p.height), (800, 400));
        let back = image::load_from_memory(&p.jpeg).unwrap();
        assert_eq!((back.width(), back.height()), (320, 160));
    }

    #[test]
    fn a_canvas_over_the_limit_is_refused_before_decoding() {
        let png = |w: u32| {
            let img = image::GrayImage::new(w, 1);
            let mut out = Vec::new();
            img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
                .unwrap();
            out
        };
        assert!(make(&png(MAX_SIDE)).is_some());
        assert!(make(&png(MAX_SIDE + 1)).is_none());
    }

    #[test]
    fn garbage_has_no_preview() {
        assert!(make(b"\x89PNG\r\n\x1a\nnot really").is_none());
    }
}
