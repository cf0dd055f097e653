//! AWS Lambda through the SDK: every container-image function of a Region,
//! each published version and `$LATEST`, with the image it runs
//! (`ListFunctions` with `FunctionVersion=ALL`, then `GetFunction` per
//! image version: `Code.ImageUri` as deployed, `Code.ResolvedImageUri` the
//! digest Lambda resolved and runs), as in-use entries.

use aws_sdk_lambda::types::{FunctionVersion, PackageType};
use futures::StreamExt;

use super::Failure;
use crate::in_use::{InUseEntry, Origin};
use crate::reference::ImageRef;

/// `GetFunction` calls in flight at once.
const CONCURRENCY: usize = 8;

/// One function version that runs a container image.
struct ImageVersion {
    name: String,
    arn: String,
    version: String,
}

/// Every container-image function version of the client's Region and the
/// image each runs, labelled `Lambda function NAME:VERSION (REGION)`.
/// Zip functions are left out (they run no image).
pub async fn in_use(client: &aws_sdk_lambda::Client) -> Result<Vec<InUseEntry>, String> {
    let region = client
        .config()
        .region()
        .map_or_else(String::new, ToString::to_string);
    let versions: Vec<ImageVersion> = super::every_page(|marker| {
        let sent = client
            .list_functions()
            .function_version(FunctionVersion::All)
            .max_items(50)
            .set_marker(marker)
            .send();
        let region = region.as_str();
        async move {
            let out = sent.await.map_err(|e| {
                Failure::of(&e).words(
                    "lambda:ListFunctions",
                    &format!("the Lambda functions of {region}"),
                )
            })?;
            // Zip functions run no image.
            let images = out
                .functions()
                .iter()
                .filter(|f| f.package_type() == Some(&PackageType::Image))
                .filter_map(|f| {
                    Some(ImageVersion {
                        name: f.function_name()?.to_owned(),
                        arn: f.function_arn()?.to_owned(),
                        version: f.version().unwrap_or("$LATEST").to_owned(),
                    })
                });
            Ok::<_, String>((images.collect(), out.next_marker().map(str::to_owned)))
        }
    })
    .await?;
    let answers: Vec<Result<InUseEntry, String>> = futures::stream::iter(versions)
        .map(|v| image_of(client, &region, v))
        .buffered(CONCURRENCY)
        .collect()
        .await;
    answers.into_iter().collect()
}

/// `GetFunction` of one version: the entry for the image it runs.
async fn image_of(
    client: &aws_sdk_lambda::Client,
    region: &str,
    v: ImageVersion,
) -> Result<InUseEntry, String> {
    let shown = format!("{}:{}", v.name, v.version);
    let out = client
        .get_function()
        .function_name(&v.name)
        .qualifier(&v.version)
        .send()
        .await
        .map_err(|e| {
            Failure::of(&e).words(
                "lambda:GetFunction",
                &format!("Lambda function {shown} in {region}"),
            )
        })?;
    let code = out.code();
    let written = code.and_then(|c| c.image_uri());
    let resolved = code.and_then(|c| c.resolved_image_uri());
    let reference = written.and_then(|i| ImageRef::parse(i).ok());
    let digest = resolved
        .and_then(|r| r.rsplit_once('@'))
        .and_then(|(_, d)| crate::digest::Digest::parse(d).ok())
        .map(|d| d.to_string())
        .or_else(|| reference.as_ref()?.digest().map(ToString::to_string));
    if reference.is_none() && digest.is_none() {
        return Err(format!(
            "Lambda function {shown} in {region}: GetFunction names no image this imgpin can read (ImageUri {written:?}, ResolvedImageUri {resolved:?})"
        ));
    }
    // A function runs on its one architecture; none named is x86_64
    // (Lambda's default), so the image must serve linux/that.
    let arch = out
        .configuration()
        .and_then(|c| c.architectures().first())
        .map_or("x86_64", |a| a.as_str());
    let platform = crate::locate::DeclaredPlatform::of_arch(
        None,
        arch,
        format!("the function's architecture {arch}"),
    );
    // With only the resolved URI readable, name the image by it.
    let reference = reference.or_else(|| resolved.and_then(|r| ImageRef::parse(r).ok()));
    Ok(InUseEntry {
        label: format!("Lambda function {shown} ({region})"),
        place: None,
        reference,
        digest,
        origin: Origin {
            function: Some(v.name),
            version: Some(v.version),
            ..Origin::of("lambda")
        }
        .with_arn(&v.arn),
        platform: Some(platform),
    })
}
