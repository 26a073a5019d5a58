//! The two networks, run in-process with tract: BlazeFace finds faces and their keypoints, dlib's ResNet-34
//! describes one aligned face as 128 numbers. Both ship inside the binary (`model/`, with their provenance and
//! licences); they are loaded on first use, so a platform that never sees a photo never holds them (~30 MB).

use std::{io::Cursor, sync::Arc};

use anyhow::Context;
use image::{DynamicImage, ImageDecoder, ImageReader, Limits, RgbImage, imageops::FilterType};
use tract_onnx::prelude::*;

use crate::detect::{self, Detection, Frame};

const DETECTOR: &[u8] = include_bytes!("../model/blazeface.onnx");
const DESCRIPTOR: &[u8] = include_bytes!("../model/face_descriptor.onnx");

/// The descriptor's input side: the aligned face chip.
const CHIP: usize = 150;

/// Photos are analysed at most this large (longest side, pixels): a face large enough to verify stays far above
/// the chip's 150 pixels, and a 12-megapixel photo costs a fraction of the time.
const WORKING_SIDE: u32 = 1024;

/// Largest image decoded (pixels on a side), so a small file cannot claim gigabytes once decoded.
const MAX_SIDE: u32 = 12_000;

/// A face's description: 128 numbers, about 1.4 long; two photos of one person lie closer than 0.6 apart.
pub type Vector = Vec<f32>;

/// Why a photo gives no description.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    #[error("the body is not a JPEG or PNG image the service can read")]
    NotAnImage,
    #[error("no face was found in the photo")]
    NoFace,
    #[error("the photo shows {0} faces; it must show exactly one")]
    SeveralFaces(usize),
}

impl Refusal {
    /// The stable code of the refusal, in answers and in rejected verifications.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::NotAnImage => "not_an_image",
            Refusal::NoFace => "no_face",
            Refusal::SeveralFaces(_) => "several_faces",
        }
    }
}

/// A face described.
#[derive(Debug, Clone)]
pub struct Described {
    pub face: Detection,
    pub vector: Vector,
}

type Plan = Arc<TypedRunnableModel>;

pub struct Model {
    detector: Plan,
    descriptor: Plan,
    anchors: Vec<(f32, f32)>,
}

impl Model {
    /// Loads and optimises both networks (~0.15 s).
    pub fn load() -> anyhow::Result<Self> {
        Ok(Self {
            detector: plan(DETECTOR, &[1, detect::INPUT, detect::INPUT, 3])
                .context("the detector")?,
            descriptor: plan(DESCRIPTOR, &[1, CHIP, CHIP, 3]).context("the descriptor")?,
            anchors: detect::anchors(),
        })
    }

    /// The one face in `photo`, described; a photo with none or several is refused.
    pub fn describe(&self, photo: &[u8]) -> anyhow::Result<Result<Described, Refusal>> {
        let Some(image) = decode(photo) else {
            return Ok(Err(Refusal::NotAnImage));
        };
        let faces = self.detect(&image)?;
        let face = match faces.len() {
            0 => return Ok(Err(Refusal::NoFace)),
            1 => faces.into_iter().next().context("one face")?,
            n => return Ok(Err(Refusal::SeveralFaces(n))),
        };
        let chip = chip(&image, &face);
        let out = self.descriptor.run(tvec!(chip.into()))?;
        let vector: Vector = out[0]
            .to_plain_array_view::<f32>()?
            .iter()
            .copied()
            .collect();
        anyhow::ensure!(
            vector.len() == 128,
            "the descriptor gave {} numbers",
            vector.len()
        );
        Ok(Ok(Described { face, vector }))
    }

    /// Every face in the image, best first.
    fn detect(&self, image: &RgbImage) -> anyhow::Result<Vec<Detection>> {
        let (width, height) = image.dimensions();
        let frame = Frame::of(width, height);
        // Fitted into the square input, centred on black (−1 after scaling), as padding then resizing would.
        let side = detect::INPUT as u32;
        let fit_w = ((width as f32 / frame.scale).round() as u32).clamp(1, side);
        let fit_h = ((height as f32 / frame.scale).round() as u32).clamp(1, side);
        let fitted = image::imageops::resize(image, fit_w, fit_h, FilterType::Triangle);
        let (left, top) = ((side - fit_w) as usize / 2, (side - fit_h) as usize / 2);
        let input: Tensor = tract_ndarray::Array4::from_shape_fn(
            (1, detect::INPUT, detect::INPUT, 3),
            |(_, y, x, c)| {
                let inside =
                    x >= left && y >= top && x < left + fit_w as usize && y < top + fit_h as usize;
                let value = if inside {
                    fitted.get_pixel((x - left) as u32, (y - top) as u32)[c] as f32
                } else {
                    0.0
                };
                value / 127.5 - 1.0
            },
        )
        .into();
        let outputs = self.detector.run(tvec!(input.into()))?;
        // Scores [1,512,1] and [1,384,1], regressions [1,512,16] and [1,384,16]; the order of the outputs is the
        // converter's, so they are told apart by shape and put in anchor order (512 first).
        let mut scores: Vec<(usize, Vec<f32>)> = Vec::new();
        let mut regressions: Vec<(usize, Vec<f32>)> = Vec::new();
        for t in outputs.iter() {
            let shape = t.shape().to_vec();
            anyhow::ensure!(shape.len() == 3, "unexpected detector output {shape:?}");
            let values: Vec<f32> = t.to_plain_array_view::<f32>()?.iter().copied().collect();
            match shape[2] {
                1 => scores.push((shape[1], values)),
                16 => regressions.push((shape[1], values)),
                _ => anyhow::bail!("unexpected detector output {shape:?}"),
            }
        }
        scores.sort_by_key(|s| std::cmp::Reverse(s.0));
        regressions.sort_by_key(|r| std::cmp::Reverse(r.0));
        let logits: Vec<f32> = scores.into_iter().flat_map(|s| s.1).collect();
        let regressions: Vec<f32> = regressions.into_iter().flat_map(|r| r.1).collect();
        anyhow::ensure!(
            logits.len() == self.anchors.len(),
            "{} scores",
            logits.len()
        );
        Ok(detect::faces(&logits, &regressions, &self.anchors, frame))
    }
}

fn plan(bytes: &[u8], shape: &[usize]) -> anyhow::Result<Plan> {
    tract_onnx::onnx()
        .model_for_read(&mut Cursor::new(bytes))?
        .with_input_fact(0, f32::fact(shape).into())?
        .into_optimized()?
        .into_runnable()
}

/// The photo as RGB, turned upright as its EXIF orientation says (phones store it sideways) and scaled down to
/// the working size; `None` when it is not a readable JPEG or PNG.
fn decode(photo: &[u8]) -> Option<RgbImage> {
    let mut reader = ImageReader::new(Cursor::new(photo))
        .with_guessed_format()
        .ok()?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().ok()?;
    let orientation = decoder.orientation().ok()?;
    let mut image = DynamicImage::from_decoder(decoder).ok()?;
    image.apply_orientation(orientation);
    if image.width().max(image.height()) > WORKING_SIDE {
        image = image.resize(WORKING_SIDE, WORKING_SIDE, FilterType::Triangle);
    }
    Some(image.to_rgb8())
}

/// The face cut out as dlib aligns it for its descriptor: centred between the eyes and the mouth, sized from
/// their distances, turned so the eyes are level, 150×150, values 0..255 (the network centres them itself).
fn chip(image: &RgbImage, face: &Detection) -> Tensor {
    let [(rx, ry), (lx, ly), _, (mx, my), ..] = face.keypoints;
    let side = ((mx - rx).hypot(my - ry) + (mx - lx).hypot(my - ly)) / 2.0 / 0.45;
    // dlib's template puts the face's centre a little below the eyes-mouth centroid.
    let (cx, cy) = ((rx + lx + mx) / 3.0, (ry + ly + my) / 3.0 + 0.07 * side);
    let angle = (ly - ry).atan2(lx - rx);
    let (cos, sin) = (angle.cos(), angle.sin());
    let step = side / CHIP as f32;
    let (w, h) = (image.width(), image.height());
    tract_ndarray::Array4::from_shape_fn((1, CHIP, CHIP, 3), |(_, v, u, c)| {
        let du = (u as f32 + 0.5 - CHIP as f32 / 2.0) * step;
        let dv = (v as f32 + 0.5 - CHIP as f32 / 2.0) * step;
        let x = (cx + cos * du - sin * dv - 0.5).clamp(0.0, (w - 1) as f32);
        let y = (cy + sin * du + cos * dv - 0.5).clamp(0.0, (h - 1) as f32);
        bilinear(image, x, y, c)
    })
    .into()
}

fn bilinear(image: &RgbImage, x: f32, y: f32, channel: usize) -> f32 {
    let (x0, y0) = (x.floor() as u32, y.floor() as u32);
    let (x1, y1) = (
        (x0 + 1).min(image.width() - 1),
        (y0 + 1).min(image.height() - 1),
    );
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let p = |x, y| image.get_pixel(x, y)[channel] as f32;
    p(x0, y0) * (1.0 - fx) * (1.0 - fy)
        + p(x1, y0) * fx * (1.0 - fy)
        + p(x0, y1) * (1.0 - fx) * fy
        + p(x1, y1) * fx * fy
}

/// Euclidean distance between two descriptions.
pub fn distance(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f32>()
        .sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Labelled photos from the face_recognition package's tests (PyPI, MIT), scaled down: `tests/photos`.
    const PHOTOS: &[(&str, &str, &[u8])] = &[
        (
            "obama",
            "obama",
            include_bytes!("../tests/photos/obama.jpg"),
        ),
        (
            "obama2",
            "obama",
            include_bytes!("../tests/photos/obama2.jpg"),
        ),
        (
            "obama3",
            "obama",
            include_bytes!("../tests/photos/obama3.jpg"),
        ),
        (
            "obama_partial_face",
            "obama",
            include_bytes!("../tests/photos/obama_partial_face.jpg"),
        ),
        (
            "obama_partial_face2",
            "obama",
            include_bytes!("../tests/photos/obama_partial_face2.jpg"),
        ),
        (
            "biden",
            "biden",
            include_bytes!("../tests/photos/biden.jpg"),
        ),
    ];

    fn png(image: &RgbImage) -> Vec<u8> {
        let mut bytes = Vec::new();
        image
            .write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png)
            .unwrap_or_else(|e| panic!("{e}"));
        bytes
    }

    #[test]
    fn the_same_persons_photos_lie_closer_than_the_threshold_and_different_persons_farther() {
        let model = Model::load().unwrap_or_else(|e| panic!("{e:#}"));
        let described: Vec<(&str, &str, Vector)> = PHOTOS
            .iter()
            .map(|&(name, person, bytes)| {
                let d = model.describe(bytes).unwrap_or_else(|e| panic!("{e:#}"));
                let d = d.unwrap_or_else(|r| panic!("{name}: {r}"));
                (name, person, d.vector)
            })
            .collect();
        let (mut same, mut different) = (0.0_f32, f32::MAX);
        for (i, a) in described.iter().enumerate() {
            for b in &described[i + 1..] {
                let d = distance(&a.2, &b.2);
                println!("{} {} {d:.3}", a.0, b.0);
                if a.1 == b.1 {
                    same = same.max(d);
                } else {
                    different = different.min(d);
                }
            }
        }
        assert!(same < 0.6, "the largest same-person distance is {same}");
        assert!(
            different > 0.6,
            "the smallest different-person distance is {different}"
        );
    }

    #[test]
    fn a_photo_of_two_people_or_of_nobody_or_of_nothing_is_refused() {
        let model = Model::load().unwrap_or_else(|e| panic!("{e:#}"));
        let left = decode(PHOTOS[0].2).unwrap_or_else(|| panic!("obama"));
        let right = decode(PHOTOS[5].2).unwrap_or_else(|| panic!("biden"));
        let mut both = RgbImage::new(
            left.width() + right.width(),
            left.height().max(right.height()),
        );
        image::imageops::overlay(&mut both, &left, 0, 0);
        image::imageops::overlay(&mut both, &right, left.width() as i64, 0);
        let describe = |bytes: &[u8]| {
            model
                .describe(bytes)
                .unwrap_or_else(|e| panic!("{e:#}"))
                .err()
        };
        assert_eq!(describe(&png(&both)), Some(Refusal::SeveralFaces(2)));
        let wall = RgbImage::from_fn(400, 300, |x, y| {
            image::Rgb([(x / 2) as u8, (y / 2) as u8, 120])
        });
        assert_eq!(describe(&png(&wall)), Some(Refusal::NoFace));
        assert_eq!(describe(b"GIF89a not a photo"), Some(Refusal::NotAnImage));
        let mut truncated = PHOTOS[1].2.to_vec();
        truncated.truncate(200);
        assert_eq!(describe(&truncated), Some(Refusal::NotAnImage));
    }
}
