//! The monthly cost estimate of an environment: line items priced from the dated table, with the
//! usage each one assumes. All sums are integer micro-dollars; they are shown in cents.

use serde::Serialize;

use crate::manifest::{Manifest, NatStrategy};
use crate::prices::Prices;

/// Usage the estimate assumes where the manifest says nothing. Stated in every estimate.
pub const NAT_DATA_GB: u64 = 50;
pub const CLOUDFRONT_GB_PER_FRONTEND: u64 = 10;
pub const CLOUDFRONT_REQUESTS_PER_FRONTEND: u64 = 1_000_000;
pub const S3_GB_PER_BUCKET: u64 = 2;
pub const ECR_GB_PER_REPOSITORY: u64 = 2;
pub const LOGS_INGEST_GB: u64 = 10;
pub const LOGS_STORED_GB: u64 = 20;
pub const ALB_LCUS: u64 = 1;
pub const DASHBOARDS: u64 = 3;
pub const FREE_DASHBOARDS: u64 = 3;
/// Secrets per environment: the database master password and the API's own secrets.
pub const SECRETS: u64 = 2;
/// Customer-managed KMS keys per environment: secrets, logs and the database.
pub const KMS_KEYS: u64 = 3;

#[derive(Debug, Clone, Serialize)]
pub struct LineItem {
    pub item: String,
    /// How it was computed, e.g. `2 × t3.medium × 730 h × $0.0416`.
    pub detail: String,
    pub monthly_usd_cents: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Estimate {
    pub environment: String,
    pub region: String,
    pub prices_as_of: String,
    pub line_items: Vec<LineItem>,
    pub total_monthly_usd_cents: u64,
    pub assumptions: Vec<String>,
    /// Charges people forget, that this estimate does not or cannot include.
    pub warnings: Vec<String>,
}

fn cents(micros: u64) -> u64 {
    (micros + 5_000) / 10_000
}

fn usd(micros: u64) -> String {
    // Prices have up to six decimals; show what is significant.
    let whole = micros / 1_000_000;
    let frac = format!("{:06}", micros % 1_000_000);
    let frac = frac.trim_end_matches('0');
    let frac = if frac.len() < 2 {
        format!("{frac:0<2}")
    } else {
        frac.to_owned()
    };
    format!("${whole}.{frac}")
}

pub fn dollars(cents: u64) -> String {
    let whole = cents / 100;
    let mut grouped = String::new();
    let digits = whole.to_string();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("${grouped}.{:02}", cents % 100)
}

/// The number of CloudWatch alarms the observability module creates for an environment.
pub fn alarm_count(m: &Manifest) -> u64 {
    // ALB 5xx rate, ALB p99 latency, node CPU, node memory, RDS CPU, RDS free storage, billing.
    let _ = m;
    7
}

/// Estimates one environment. `None` when there is no such environment.
pub fn estimate(m: &Manifest, env_name: &str, p: &Prices) -> Option<Estimate> {
    let env = m.env(env_name)?;
    let hours = p.hours_per_month;
    let azs = u64::from(*env.azs.get_ref());
    let mut items = Vec::new();
    let mut add = |item: &str, detail: String, micros: u64| {
        items.push(LineItem {
            item: item.to_owned(),
            detail,
            monthly_usd_cents: cents(micros),
        });
    };

    add(
        "EKS control plane",
        format!("1 cluster × {hours} h × {}", usd(p.h("eks_control_plane"))),
        hours * p.h("eks_control_plane"),
    );
    let node_type = env.nodes.instance_type.get_ref();
    let nodes = u64::from(env.nodes.desired);
    let disk = u64::from(env.nodes.disk_gb);
    add(
        "EKS nodes (EC2)",
        format!("{nodes} × {node_type} × {hours} h × {}", usd(p.h(node_type))),
        nodes * hours * p.h(node_type),
    );
    add(
        "EKS node volumes (EBS gp3)",
        format!("{nodes} × {disk} GB × {}", usd(p.m("ebs_gp3_gb"))),
        nodes * disk * p.m("ebs_gp3_gb"),
    );
    let nats = match env.nat {
        NatStrategy::Single => 1,
        NatStrategy::OnePerAz => azs,
    };
    add(
        "NAT gateway hours",
        format!("{nats} × {hours} h × {}", usd(p.h("nat_gateway"))),
        nats * hours * p.h("nat_gateway"),
    );
    add(
        "NAT data processing",
        format!("{NAT_DATA_GB} GB × {}", usd(p.u("nat_data_gb"))),
        NAT_DATA_GB * p.u("nat_data_gb"),
    );
    // One address per NAT gateway, and one per AZ for the internet-facing load balancer.
    let ips = nats + azs;
    add(
        "Public IPv4 addresses",
        format!(
            "{ips} ({nats} NAT + {azs} ALB) × {hours} h × {}",
            usd(p.h("public_ipv4"))
        ),
        ips * hours * p.h("public_ipv4"),
    );
    add(
        "Application Load Balancer",
        format!(
            "1 × {hours} h × {} + {ALB_LCUS} LCU × {hours} h × {}",
            usd(p.h("alb")),
            usd(p.h("alb_lcu"))
        ),
        hours * p.h("alb") + ALB_LCUS * hours * p.h("alb_lcu"),
    );
    let db_class = env.database.instance_class.get_ref();
    let az_factor = if env.database.multi_az { 2 } else { 1 };
    let storage = u64::from(env.database.storage_gb);
    add(
        "RDS PostgreSQL instance",
        format!(
            "{db_class}{} × {hours} h × {}",
            if env.database.multi_az { " multi-AZ (×2)" } else { "" },
            usd(p.h(db_class))
        ),
        az_factor * hours * p.h(db_class),
    );
    add(
        "RDS storage (gp3)",
        format!(
            "{storage} GB{} × {}",
            if env.database.multi_az { " × 2" } else { "" },
            usd(p.m("rds_gp3_gb"))
        ),
        az_factor * storage * p.m("rds_gp3_gb"),
    );
    let fronts = m.frontends.len() as u64;
    add(
        "CloudFront",
        format!(
            "{fronts} distributions × ({CLOUDFRONT_GB_PER_FRONTEND} GB × {} + {}k requests × {}/10k)",
            usd(p.u("cloudfront_gb")),
            CLOUDFRONT_REQUESTS_PER_FRONTEND / 1000,
            usd(p.u("cloudfront_10k_requests"))
        ),
        fronts
            * (CLOUDFRONT_GB_PER_FRONTEND * p.u("cloudfront_gb")
                + CLOUDFRONT_REQUESTS_PER_FRONTEND / 10_000 * p.u("cloudfront_10k_requests")),
    );
    // Frontend buckets, TechDocs, and the logs bucket.
    let buckets = fronts + 2;
    add(
        "S3",
        format!(
            "{buckets} buckets × {S3_GB_PER_BUCKET} GB × {}",
            usd(p.m("s3_standard_gb"))
        ),
        buckets * S3_GB_PER_BUCKET * p.m("s3_standard_gb"),
    );
    add(
        "Secrets Manager",
        format!("{SECRETS} secrets × {}", usd(p.m("secret"))),
        SECRETS * p.m("secret"),
    );
    let alarms = alarm_count(m);
    let paid_dashboards = DASHBOARDS.saturating_sub(FREE_DASHBOARDS);
    add(
        "CloudWatch",
        format!(
            "logs {LOGS_INGEST_GB} GB × {} + {LOGS_STORED_GB} GB stored × {} + {alarms} alarms × {} + {DASHBOARDS} dashboards ({FREE_DASHBOARDS} free)",
            usd(p.u("cloudwatch_logs_ingest_gb")),
            usd(p.m("cloudwatch_logs_storage_gb")),
            usd(p.m("cloudwatch_alarm"))
        ),
        LOGS_INGEST_GB * p.u("cloudwatch_logs_ingest_gb")
            + LOGS_STORED_GB * p.m("cloudwatch_logs_storage_gb")
            + alarms * p.m("cloudwatch_alarm")
            + paid_dashboards * p.m("cloudwatch_dashboard"),
    );
    let repos = m.project.repositories.len() as u64;
    add(
        "ECR",
        format!(
            "{repos} repositories × {ECR_GB_PER_REPOSITORY} GB × {}",
            usd(p.m("ecr_storage_gb"))
        ),
        repos * ECR_GB_PER_REPOSITORY * p.m("ecr_storage_gb"),
    );
    add(
        "KMS",
        format!("{KMS_KEYS} keys × {}", usd(p.m("kms_key"))),
        KMS_KEYS * p.m("kms_key"),
    );
    let total = items.iter().map(|i| i.monthly_usd_cents).sum();
    Some(Estimate {
        environment: env_name.to_owned(),
        region: m.region_of(env_name).to_owned(),
        prices_as_of: p.as_of.clone(),
        line_items: items,
        total_monthly_usd_cents: total,
        assumptions: vec![
            format!("On-demand us-east-1 list prices as of {}, {} hours a month, no free tier except where stated, no savings plans or reserved instances.", p.as_of, p.hours_per_month),
            format!("{} nodes run all month ({} of {}–{}): the estimate follows `desired`, not the autoscaler's range.", env.nodes.desired, env.nodes.instance_type.get_ref(), env.nodes.min.get_ref(), env.nodes.max),
            format!("{NAT_DATA_GB} GB a month leave the private subnets through NAT (image pulls, AWS APIs, updates)."),
            format!("Each frontend serves {CLOUDFRONT_GB_PER_FRONTEND} GB and {CLOUDFRONT_REQUESTS_PER_FRONTEND} requests a month; the buckets hold {S3_GB_PER_BUCKET} GB each; ECR holds {ECR_GB_PER_REPOSITORY} GB of images per repository."),
            format!("Logs: {LOGS_INGEST_GB} GB ingested and {LOGS_STORED_GB} GB kept a month; {DASHBOARDS} dashboards fall in CloudWatch's free three."),
            format!("One internet-facing ALB (created by the AWS Load Balancer Controller for the ingress) with {ALB_LCUS} LCU."),
            "The dev default fits the plan's $170–265 a month because it runs one small cluster: two t3.medium nodes, one NAT gateway, a single-AZ db.t4g.micro. The EKS control plane alone is $73; staging and prod cost more through more nodes, a NAT gateway per AZ and a multi-AZ database.".to_owned(),
        ],
        warnings: vec![
            "Public IPv4 addresses are charged per hour whether used or idle ($3.65 a month each), including those of NAT gateways and load balancers.".to_owned(),
            "NAT gateways charge for every GB they process, on top of their hours; pulling large images through NAT adds up. VPC endpoints for ECR and S3 avoid it.".to_owned(),
            "EKS charges six times the control-plane price ($0.60/h, about $438 a month) once the cluster's Kubernetes version leaves standard support. Upgrade on time.".to_owned(),
            "Load balancers created by the AWS Load Balancer Controller are not in the OpenTofu state: delete the Ingress objects before `destroy`, or they keep charging.".to_owned(),
            "Data crossing availability zones costs $0.01/GB each way (pods talking to a database in another AZ, multi-AZ replication).".to_owned(),
            "CloudWatch Logs ingestion ($0.50/GB) grows with log verbosity; debug logging in production can cost more than the cluster.".to_owned(),
            "RDS automated backups beyond the database's size, snapshots kept after deletion, and orphaned EBS volumes keep charging after their owner is gone.".to_owned(),
            "Taxes, support plans and data transfer out of the load balancer are not included.".to_owned(),
        ],
    })
}

/// The estimate as a table, markdown or JSON.
pub fn render(e: &Estimate, format: &str) -> Result<String, String> {
    match format {
        "json" => {
            let mut v = serde_json::to_value(e).map_err(|x| x.to_string())?;
            // A JSON number for tools; the integer cents are the exact figure.
            let total = serde_json::Number::from_f64(e.total_monthly_usd_cents as f64 / 100.0)
                .ok_or("the total is not a number")?;
            v["total_monthly_usd"] = serde_json::Value::Number(total);
            for (i, item) in e.line_items.iter().enumerate() {
                if let Some(n) = serde_json::Number::from_f64(item.monthly_usd_cents as f64 / 100.0) {
                    v["line_items"][i]["monthly_usd"] = serde_json::Value::Number(n);
                }
            }
            serde_json::to_string_pretty(&v)
                .map(|s| s + "\n")
                .map_err(|x| x.to_string())
        }
        "markdown" => {
            let mut s = format!(
                "# Monthly cost estimate: {} ({})\n\nPrices as of {}.\n\n| Item | Monthly | How |\n|---|---:|---|\n",
                e.environment, e.region, e.prices_as_of
            );
            for i in &e.line_items {
                s += &format!("| {} | {} | {} |\n", i.item, dollars(i.monthly_usd_cents), i.detail);
            }
            s += &format!(
                "| **Total** | **{}** | |\n\n## Assumptions\n\n",
                dollars(e.total_monthly_usd_cents)
            );
            for a in &e.assumptions {
                s += &format!("- {a}\n");
            }
            s += "\n## Charges people forget\n\n";
            for w in &e.warnings {
                s += &format!("- {w}\n");
            }
            Ok(s)
        }
        "table" => {
            let width = e.line_items.iter().map(|i| i.item.len()).max().unwrap_or(10).max(5);
            let mut s = format!(
                "Monthly estimate for `{}` in {} (prices as of {})\n\n",
                e.environment, e.region, e.prices_as_of
            );
            for i in &e.line_items {
                s += &format!(
                    "  {:<width$}  {:>10}   {}\n",
                    i.item,
                    dollars(i.monthly_usd_cents),
                    i.detail
                );
            }
            s += &format!(
                "  {:<width$}  {:>10}\n\nAssumptions:\n",
                "TOTAL",
                dollars(e.total_monthly_usd_cents)
            );
            for a in &e.assumptions {
                s += &format!("  - {a}\n");
            }
            s += "\nCharges people forget:\n";
            for w in &e.warnings {
                s += &format!("  ! {w}\n");
            }
            Ok(s)
        }
        other => Err(format!("unknown format `{other}`: use table, json or markdown")),
    }
}
