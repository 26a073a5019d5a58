//! A certificate as a one-page PDF (A4 landscape), drawn with krilla and DejaVu Sans — embedded and subset, so a
//! holder's name prints in Latin, Greek, Cyrillic, Arabic or Hebrew letters alike, with no font on the reader's
//! machine. Scripts DejaVu lacks (CJK) show as missing glyphs; a font with them would be the next step. The
//! DejaVu fonts are free to embed and redistribute (Bitstream Vera licence and its DejaVu changes, public domain).

use std::sync::LazyLock;

use krilla::{
    Document,
    color::rgb,
    geom::{PathBuilder, Point, Rect},
    metadata::Metadata,
    page::PageSettings,
    paint::{Fill, Stroke},
    text::{Font, TextDirection},
};

/// What a certificate states.
pub struct Content<'a> {
    pub id: &'a str,
    pub holder: &'a str,
    pub course: &'a str,
    /// The issue date as printed (`2026-12-03`).
    pub issued_on: &'a str,
}

const WIDTH: f32 = 842.0;
const HEIGHT: f32 = 595.0;
/// Text never runs closer than this to the page's sides: longer lines are set smaller.
const MARGIN: f32 = 80.0;

/// A font for krilla to embed, with its bytes for measuring.
struct Face {
    font: Font,
    bytes: &'static [u8],
}

struct Fonts {
    regular: Face,
    bold: Face,
}

/// The fonts, parsed once for every certificate.
static FONTS: LazyLock<Option<Fonts>> = LazyLock::new(|| {
    let load = |bytes: &'static [u8]| {
        Some(Face {
            font: Font::new(bytes.into(), 0)?,
            bytes,
        })
    };
    Some(Fonts {
        regular: load(dejavu::sans::regular())?,
        bold: load(dejavu::sans::bold())?,
    })
});

/// Renders the certificate.
pub fn render(c: &Content<'_>) -> anyhow::Result<Vec<u8>> {
    let fonts = FONTS
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("the bundled fonts did not load"))?;
    let mut document = Document::new();
    document.set_metadata(
        Metadata::new()
            .title(format!("Certificate of completion: {}", c.course))
            .creator("Agon".into()),
    );
    let settings =
        PageSettings::from_wh(WIDTH, HEIGHT).ok_or_else(|| anyhow::anyhow!("bad page size"))?;
    let mut page = document.start_page_with(settings);
    let mut surface = page.surface();
    let accent = rgb::Color::new(31, 78, 121);
    surface.set_stroke(Some(Stroke {
        paint: accent.into(),
        width: 3.0,
        ..Stroke::default()
    }));
    let mut frame = PathBuilder::new();
    if let Some(rect) = Rect::from_xywh(24.0, 24.0, WIDTH - 48.0, HEIGHT - 48.0) {
        frame.push_rect(rect);
    }
    if let Some(path) = frame.finish() {
        surface.draw_path(&path);
    }
    surface.set_stroke(None);
    let lines: [(&Face, f32, String, f32); 8] = [
        (&fonts.bold, 34.0, "Certificate of completion".into(), 150.0),
        (&fonts.regular, 15.0, "This certifies that".into(), 215.0),
        (&fonts.bold, 30.0, c.holder.into(), 268.0),
        (
            &fonts.regular,
            15.0,
            "has completed the course".into(),
            318.0,
        ),
        (&fonts.bold, 24.0, c.course.into(), 366.0),
        (
            &fonts.regular,
            13.0,
            format!("Issued on {}", c.issued_on),
            430.0,
        ),
        (&fonts.regular, 10.0, format!("Certificate {}", c.id), 508.0),
        (
            &fonts.regular,
            10.0,
            format!("Verify it at /certificates/{} on the club's platform", c.id),
            525.0,
        ),
    ];
    for (font, size, text, y) in lines {
        let colour = if y < 200.0 {
            accent
        } else {
            rgb::Color::black()
        };
        surface.set_fill(Some(Fill {
            paint: colour.into(),
            ..Fill::default()
        }));
        centred(&mut surface, font, size, &text, y);
    }
    surface.finish();
    page.finish();
    document
        .finish()
        .map_err(|e| anyhow::anyhow!("the certificate did not render: {e:?}"))
}

/// Draws one line centred on the page at baseline `y`, set smaller when it would not fit between the margins.
fn centred(surface: &mut krilla::surface::Surface<'_>, face: &Face, size: f32, text: &str, y: f32) {
    let natural = width(face.bytes, text) * size;
    let room = WIDTH - 2.0 * MARGIN;
    let size = if natural > room {
        size * room / natural
    } else {
        size
    };
    let x = (WIDTH - width(face.bytes, text) * size) / 2.0;
    surface.draw_text(
        Point::from_xy(x, y),
        face.font.clone(),
        size,
        text,
        false,
        TextDirection::Auto,
    );
}

/// The width of `text` set in the font `bytes` at size 1, shaped as krilla shapes it.
fn width(bytes: &[u8], text: &str) -> f32 {
    let Some(face) = rustybuzz::Face::from_slice(bytes, 0) else {
        return 0.0;
    };
    let mut buffer = rustybuzz::UnicodeBuffer::new();
    buffer.push_str(text);
    buffer.guess_segment_properties();
    let shaped = rustybuzz::shape(&face, &[], buffer);
    let units: i32 = shaped.glyph_positions().iter().map(|p| p.x_advance).sum();
    // Font units are small integers: exact in f32.
    #[allow(clippy::cast_precision_loss)]
    let (units, per_em) = (units as f32, face.units_per_em() as f32);
    units / per_em
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_certificate_is_a_pdf_holding_its_fonts() {
        let pdf = render(&Content {
            id: "0192b0f4-1111-7000-8000-000000000001",
            holder: "Zoë Øberg-Петрова",
            course: "Marathon preparation, from the first 5k to race day",
            issued_on: "2026-12-03",
        })
        .unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains("DejaVuSans"), "the font is embedded");
        assert!(text.trim_end().ends_with("%%EOF"));
    }

    #[test]
    fn a_long_line_is_set_smaller_to_fit() {
        let short = width(dejavu::sans::regular(), "Yoga");
        let long = width(dejavu::sans::regular(), &"Yoga ".repeat(40));
        assert!(short > 0.0 && long > 30.0 * short);
    }
}
