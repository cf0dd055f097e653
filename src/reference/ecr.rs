//! Amazon ECR registry hosts: which hosts are ECR and what they name (account,
//! Region, FIPS and dual-stack endpoint flavour), and a repository in one of
//! them. Pure: turning a host into an SDK client is [`crate::aws`]'s job.

use super::ImageRef;
use std::fmt;

/// What an ECR registry host names: the account, the region and the endpoint flavour.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EcrHost {
    /// The 12-digit AWS account id (the registry id).
    pub account: String,
    /// The AWS region, e.g. `us-east-1`.
    pub region: String,
    /// A FIPS endpoint (`dkr.ecr-fips` / `dkr-ecr-fips`).
    pub fips: bool,
    /// A dual-stack (IPv4 and IPv6) endpoint (`dkr-ecr.<region>.on.aws`).
    pub dual_stack: bool,
}

/// Recognises an ECR registry host, case-insensitively:
///
/// - `<account>.dkr.ecr.<region>.amazonaws.com`
/// - `<account>.dkr.ecr.<cn-region>.amazonaws.com.cn` (China)
/// - `<account>.dkr.ecr-fips.<region>.amazonaws.com` (FIPS)
/// - `<account>.dkr-ecr.<region>.on.aws` (dual-stack), also `dkr-ecr-fips`
/// - `<account>.dkr-ecr.<cn-region>.on.amazonwebservices.com.cn` (China dual-stack)
///
/// `<account>` is 12 digits. Anything else, including a host with a port,
/// is `None`.
pub fn parse_ecr_host(host: &str) -> Option<EcrHost> {
    let host = host.to_ascii_lowercase();
    let (account, rest) = host.split_once('.')?;
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (service, rest) = rest.split_once('.')?;
    let (region, suffix) = rest.split_once('.')?;
    let (fips, dual_stack) = match service {
        "dkr" => {
            // `dkr.ecr.` / `dkr.ecr-fips.`: the service label is two labels here.
            let (flavour, rest) = rest.split_once('.')?;
            let (region, suffix) = rest.split_once('.')?;
            let fips = match flavour {
                "ecr" => false,
                "ecr-fips" => true,
                _ => return None,
            };
            let china = region.starts_with("cn-");
            let ok = match suffix {
                "amazonaws.com" => !china,
                "amazonaws.com.cn" => china && !fips,
                _ => false,
            };
            if !ok || !is_region(region) {
                return None;
            }
            return Some(EcrHost {
                account: account.to_string(),
                region: region.to_string(),
                fips,
                dual_stack: false,
            });
        }
        "dkr-ecr" => (false, true),
        "dkr-ecr-fips" => (true, true),
        _ => return None,
    };
    let china = region.starts_with("cn-");
    let ok = match suffix {
        "on.aws" => !china,
        "on.amazonwebservices.com.cn" => china && !fips,
        _ => false,
    };
    if !ok || !is_region(region) {
        return None;
    }
    Some(EcrHost {
        account: account.to_string(),
        region: region.to_string(),
        fips,
        dual_stack,
    })
}

/// `us-east-1`, `us-gov-west-1`, `ap-southeast-5`: letter groups, then a number.
fn is_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    let Some((number, words)) = parts.split_last() else {
        return false;
    };
    words.len() >= 2
        && words
            .iter()
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
        && !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
}

/// Whether `reference` names an ECR registry and so is resolved through the ECR API.
pub fn is_ecr(reference: &ImageRef) -> bool {
    parse_ecr_host(reference.domain()).is_some()
}

/// One ECR repository: the registry host (account, region, endpoint flavour) and its name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Repo {
    /// The registry host, parsed.
    pub host: EcrHost,
    /// The repository name, e.g. `team/api`.
    pub repository: String,
}

impl fmt::Display for Repo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "repository {} (account {}, {})",
            self.repository, self.host.account, self.host.region
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(account: &str, region: &str, fips: bool, dual_stack: bool) -> Option<EcrHost> {
        Some(EcrHost {
            account: account.to_string(),
            region: region.to_string(),
            fips,
            dual_stack,
        })
    }

    #[test]
    fn parses_every_ecr_host_form() {
        let a = "123456789012";
        let cases = [
            (
                "123456789012.dkr.ecr.us-east-1.amazonaws.com",
                host(a, "us-east-1", false, false),
            ),
            (
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
                host(a, "eu-west-1", false, false),
            ),
            (
                "123456789012.dkr.ecr.us-gov-west-1.amazonaws.com",
                host(a, "us-gov-west-1", false, false),
            ),
            (
                "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn",
                host(a, "cn-north-1", false, false),
            ),
            (
                "123456789012.dkr.ecr-fips.us-east-1.amazonaws.com",
                host(a, "us-east-1", true, false),
            ),
            (
                "123456789012.dkr-ecr.us-east-1.on.aws",
                host(a, "us-east-1", false, true),
            ),
            (
                "123456789012.dkr-ecr-fips.us-east-1.on.aws",
                host(a, "us-east-1", true, true),
            ),
            (
                "123456789012.dkr-ecr.cn-north-1.on.amazonwebservices.com.cn",
                host(a, "cn-north-1", false, true),
            ),
            (
                "123456789012.DKR.ECR.US-EAST-1.AMAZONAWS.COM",
                host(a, "us-east-1", false, false),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(parse_ecr_host(text), want, "{text}");
        }
    }

    #[test]
    fn rejects_near_misses() {
        for text in [
            "12345678901.dkr.ecr.us-east-1.amazonaws.com", // 11 digits
            "1234567890123.dkr.ecr.us-east-1.amazonaws.com", // 13 digits
            "12345678901a.dkr.ecr.us-east-1.amazonaws.com",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com:443",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example",
            "123456789012.dkr.ecr.us-east-1.amazonaws.org",
            "123456789012.dkr.ecr.amazonaws.com",
            "123456789012.dkr.ecr.us-east.amazonaws.com",
            "123456789012.dkr.ecr.useast1.amazonaws.com",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com.cn", // not a China region
            "123456789012.dkr.ecr.cn-north-1.amazonaws.com",   // China region, global suffix
            "123456789012.dkr.ecr-fips.cn-north-1.amazonaws.com.cn",
            "123456789012.dkr.ecr-fips.us-east-1.on.aws",
            "123456789012.dkr-ecr.us-east-1.amazonaws.com",
            "123456789012.dkr.ecr.us-east-1.on.aws",
            "123456789012.dkr-ecr.us-east-1.on.aws.example",
            "123456789012.ecr.us-east-1.amazonaws.com",
            "123456789012.dkr.ecr.us-east-1.api.aws",
            "api.ecr.us-east-1.amazonaws.com",
            "public.ecr.aws",
            "docker.io",
            "localhost:5000",
            "",
        ] {
            assert_eq!(parse_ecr_host(text), None, "{text}");
        }
    }
}
