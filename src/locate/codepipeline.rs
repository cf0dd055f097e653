//! AWS CodePipeline's image files: `imagedefinitions.json` (the ECS standard
//! deploy action: an array of `{"name", "imageUri"}`) and `imageDetail.json`
//! (the ECS blue/green action: `{"ImageURI": …}`).
//!
//! Rule: recognised by content, not by file name: an array whose items are
//! all objects with `imageUri`, or an object with `ImageURI`.

use super::classify::occurrence;
use super::tree::{join_index, join_key, Node};
use super::Occurrence;

/// Whether `root` is an `imagedefinitions.json` array.
pub(crate) fn detect_image_definitions(root: &Node) -> bool {
    root.items().is_some_and(|items| {
        !items.is_empty() && items.iter().all(|item| item.get("imageUri").is_some())
    })
}

/// Every item's `imageUri`.
pub(crate) fn collect_image_definitions(root: &Node) -> Vec<Occurrence> {
    root.items()
        .unwrap_or_default()
        .iter()
        .enumerate()
        .filter_map(|(i, item)| {
            let uri = item.get("imageUri")?;
            Some(occurrence(uri, join_key(&join_index("", i), "imageUri")))
        })
        .collect()
}

/// Whether `root` is an `imageDetail.json` object.
pub(crate) fn detect_image_detail(root: &Node) -> bool {
    root.get("ImageURI").is_some()
}

/// The `ImageURI`.
pub(crate) fn collect_image_detail(root: &Node) -> Vec<Occurrence> {
    root.get("ImageURI")
        .map(|uri| occurrence(uri, "ImageURI".to_owned()))
        .into_iter()
        .collect()
}
