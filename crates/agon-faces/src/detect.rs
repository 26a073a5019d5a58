//! BlazeFace's output read as faces: its anchors, the boxes and keypoints each anchor regresses, and the
//! suppression of boxes that are one face seen by several anchors. Pure; the model run is in `model.rs`.

/// The detector's input side, in pixels.
pub const INPUT: usize = 256;

/// Below this confidence an anchor's box is not a face.
pub const MIN_SCORE: f32 = 0.5;

/// Boxes overlapping more than this (intersection over union) are the same face.
const SAME_FACE_IOU: f32 = 0.3;

/// A face found in an image, in that image's pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    pub score: f32,
    /// Left, top, right, bottom.
    pub bbox: [f32; 4],
    /// Right eye, left eye, nose, mouth, right ear, left ear (the subject's right and left).
    pub keypoints: [(f32, f32); 6],
}

/// The anchors' centres in input pixels, in the order of the model's outputs: a 16-pixel grid with 2 anchors a
/// cell, then a 32-pixel grid with 6.
pub fn anchors() -> Vec<(f32, f32)> {
    let mut anchors = Vec::with_capacity(896);
    for (stride, per_cell) in [(16usize, 2usize), (32, 6)] {
        let cells = INPUT.div_ceil(stride);
        for y in 0..cells {
            for x in 0..cells {
                let centre = (
                    (stride * x) as f32 + stride as f32 / 2.0,
                    (stride * y) as f32 + stride as f32 / 2.0,
                );
                anchors.extend(std::iter::repeat_n(centre, per_cell));
            }
        }
    }
    anchors
}

/// How input pixels map back onto the image: the image was fitted into the square input, centred.
#[derive(Debug, Clone, Copy)]
pub struct Frame {
    /// Image pixels per input pixel.
    pub scale: f32,
    /// The padding, in image pixels, added left and above to make the image square.
    pub pad: (f32, f32),
}

impl Frame {
    pub fn of(width: u32, height: u32) -> Self {
        let side = width.max(height) as f32;
        Self {
            scale: side / INPUT as f32,
            pad: ((side - width as f32) / 2.0, (side - height as f32) / 2.0),
        }
    }

    fn point(&self, x: f32, y: f32) -> (f32, f32) {
        (x * self.scale - self.pad.0, y * self.scale - self.pad.1)
    }
}

/// The faces in the model's output: `logits` one per anchor, `regressions` 16 per anchor (box centre offset
/// and size, then six keypoint offsets). Best first, one detection per face.
pub fn faces(
    logits: &[f32],
    regressions: &[f32],
    anchors: &[(f32, f32)],
    frame: Frame,
) -> Vec<Detection> {
    let mut candidates: Vec<Detection> = logits
        .iter()
        .zip(regressions.chunks_exact(16))
        .zip(anchors)
        .filter_map(|((&logit, r), &(ax, ay))| {
            let score = 1.0 / (1.0 + (-logit).exp());
            if score < MIN_SCORE {
                return None;
            }
            let (cx, cy) = (ax + r[0], ay + r[1]);
            let (left, top) = frame.point(cx - r[2] / 2.0, cy - r[3] / 2.0);
            let (right, bottom) = frame.point(cx + r[2] / 2.0, cy + r[3] / 2.0);
            let mut keypoints = [(0.0, 0.0); 6];
            for (j, k) in keypoints.iter_mut().enumerate() {
                *k = frame.point(ax + r[4 + 2 * j], ay + r[5 + 2 * j]);
            }
            Some(Detection {
                score,
                bbox: [left, top, right, bottom],
                keypoints,
            })
        })
        .collect();
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Detection> = Vec::new();
    for candidate in candidates {
        if kept
            .iter()
            .all(|k| iou(&k.bbox, &candidate.bbox) <= SAME_FACE_IOU)
        {
            kept.push(candidate);
        }
    }
    kept
}

fn iou(a: &[f32; 4], b: &[f32; 4]) -> f32 {
    let width = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let height = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = width * height;
    let area = |r: &[f32; 4]| (r[2] - r[0]).max(0.0) * (r[3] - r[1]).max(0.0);
    let union = area(a) + area(b) - inter;
    if union <= 0.0 { 0.0 } else { inter / union }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_anchors_are_the_models_896_in_grid_order() {
        let a = anchors();
        assert_eq!(a.len(), 896);
        assert_eq!(a[0], (8.0, 8.0));
        assert_eq!(a[1], (8.0, 8.0));
        assert_eq!(a[2], (24.0, 8.0));
        assert_eq!(a[511], (248.0, 248.0));
        assert_eq!(a[512], (16.0, 16.0));
        assert_eq!(a[895], (240.0, 240.0));
    }

    fn regression(dx: f32, dy: f32, size: f32) -> Vec<f32> {
        let mut r = vec![dx, dy, size, size];
        r.extend([0.0; 12]);
        r
    }

    #[test]
    fn one_face_seen_by_several_anchors_is_one_detection_and_two_apart_are_two() {
        let anchors = vec![(100.0, 100.0), (104.0, 100.0), (200.0, 60.0), (30.0, 30.0)];
        let logits = [3.0, 2.0, 1.0, -3.0];
        let regressions: Vec<f32> = [
            regression(0.0, 0.0, 60.0),
            regression(0.0, 0.0, 60.0),
            regression(0.0, 0.0, 40.0),
            regression(0.0, 0.0, 40.0),
        ]
        .concat();
        let frame = Frame::of(256, 256);
        let faces = faces(&logits, &regressions, &anchors, frame);
        assert_eq!(faces.len(), 2, "{faces:?}");
        assert!(faces[0].score > faces[1].score);
        assert_eq!(faces[0].bbox, [70.0, 70.0, 130.0, 130.0]);
    }

    #[test]
    fn points_map_back_through_the_padding_and_scale() {
        // A 512×256 image: scaled by 2, padded 128 pixels above and below to be square.
        let frame = Frame::of(512, 256);
        assert_eq!(frame.point(128.0, 128.0), (256.0, 128.0));
        assert_eq!(frame.point(0.0, 64.0), (0.0, 0.0));
    }
}
