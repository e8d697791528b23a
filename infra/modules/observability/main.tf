# Logs, alerts, alarms and dashboards. Thresholds follow the plan: p99 latency above 500 ms, node
# CPU and memory above 80%, and a billing alarm at the environment's budget.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

resource "aws_kms_key" "observability" {
  description         = "${var.name} logs and alerts"
  enable_key_rotation = true
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministers"
        Effect    = "Allow"
        Principal = { AWS = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "LogsAndAlarmsUseTheKey"
        Effect    = "Allow"
        Principal = { Service = ["logs.${data.aws_region.current.region}.amazonaws.com", "cloudwatch.amazonaws.com"] }
        Action    = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
        Resource  = "*"
      },
    ]
  })
}

resource "aws_cloudwatch_log_group" "app" {
  #checkov:skip=CKV_AWS_338:Retention is set per environment in platform.toml (30 days by default); a year of application logs is not needed to operate BillPay, and the ledger, not logs, is the audit record.
  for_each          = toset(concat(["cluster-workloads"], var.services))
  name              = "/billpay/${var.name}/${each.value}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.observability.arn
}

resource "aws_sns_topic" "alerts" {
  name              = "${var.name}-alerts"
  kms_master_key_id = aws_kms_key.observability.id
}

resource "aws_sns_topic_subscription" "email" {
  count     = var.alert_email == "" ? 0 : 1
  topic_arn = aws_sns_topic.alerts.arn
  protocol  = "email"
  endpoint  = var.alert_email
}

# The access-log bucket for the other buckets and for CloudFront (which needs ACLs to write).
module "logs_bucket" {
  source = "../bucket"

  bucket_name      = "${var.name}-logs"
  kms_key_arn      = aws_kms_key.observability.arn
  object_ownership = "BucketOwnerPreferred"
}

locals {
  alarms = {
    p99-latency = {
      description = "p99 response time above 500 ms (the platform's target)"
      namespace   = "AWS/ApplicationELB"
      metric      = "TargetResponseTime"
      dimensions  = { LoadBalancer = var.load_balancer_name }
      statistic   = null
      threshold   = 0.5
    }
    node-cpu = {
      description = "Cluster nodes above 80% CPU"
      namespace   = "ContainerInsights"
      metric      = "node_cpu_utilization"
      dimensions  = { ClusterName = var.cluster_name }
      statistic   = "Average"
      threshold   = 80
    }
    node-memory = {
      description = "Cluster nodes above 80% memory"
      namespace   = "ContainerInsights"
      metric      = "node_memory_utilization"
      dimensions  = { ClusterName = var.cluster_name }
      statistic   = "Average"
      threshold   = 80
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "platform" {
  for_each            = local.alarms
  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  extended_statistic  = each.value.statistic == null ? "p99" : null
  period              = 300
  evaluation_periods  = 2
  threshold           = each.value.threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alerts.arn]
  ok_actions          = [aws_sns_topic.alerts.arn]
}

# 5xx answers as a share of all requests through the load balancer, above 1% for 10 minutes.
resource "aws_cloudwatch_metric_alarm" "alb_5xx_rate" {
  alarm_name          = "${var.name}-alb-5xx-rate"
  alarm_description   = "More than 1% of requests through the load balancer end in 5xx"
  evaluation_periods  = 2
  threshold           = 1
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alerts.arn]
  ok_actions          = [aws_sns_topic.alerts.arn]

  metric_query {
    id          = "rate"
    expression  = "100 * (errors_target + errors_elb) / MAX([requests, 1])"
    label       = "5xx %"
    return_data = true
  }
  metric_query {
    id = "errors_target"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "HTTPCode_Target_5XX_Count"
      dimensions  = { LoadBalancer = var.load_balancer_name }
      stat        = "Sum"
      period      = 300
    }
  }
  metric_query {
    id = "errors_elb"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "HTTPCode_ELB_5XX_Count"
      dimensions  = { LoadBalancer = var.load_balancer_name }
      stat        = "Sum"
      period      = 300
    }
  }
  metric_query {
    id = "requests"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "RequestCount"
      dimensions  = { LoadBalancer = var.load_balancer_name }
      stat        = "Sum"
      period      = 300
    }
  }
}

# Billing metrics exist only in us-east-1, where BillPay runs.
resource "aws_cloudwatch_metric_alarm" "charges" {
  alarm_name          = "${var.name}-estimated-charges"
  alarm_description   = "This month's estimated AWS charges passed ${var.monthly_budget_usd} USD"
  namespace           = "AWS/Billing"
  metric_name         = "EstimatedCharges"
  dimensions          = { Currency = "USD" }
  statistic           = "Maximum"
  period              = 21600
  evaluation_periods  = 1
  threshold           = var.monthly_budget_usd
  comparison_operator = "GreaterThanThreshold"
  alarm_actions       = [aws_sns_topic.alerts.arn]
}

locals {
  region = data.aws_region.current.region
  dashboards = {
    business = [
      { title = "Payments by outcome", metrics = [["BillPay", "payments_total", "status", "succeeded"], ["BillPay", "payments_total", "status", "declined"]] },
      { title = "Amount paid (COP, minor units)", metrics = [["BillPay", "payment_amount_minor_total", "currency", "COP"]] },
    ]
    health = [
      { title = "5xx from targets", metrics = [["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "LoadBalancer", var.load_balancer_name]] },
      { title = "Healthy hosts", metrics = [["AWS/ApplicationELB", "HealthyHostCount", "LoadBalancer", var.load_balancer_name]] },
    ]
    performance = [
      { title = "Response time", metrics = [["AWS/ApplicationELB", "TargetResponseTime", "LoadBalancer", var.load_balancer_name]] },
      { title = "Node CPU and memory", metrics = [["ContainerInsights", "node_cpu_utilization", "ClusterName", var.cluster_name], ["ContainerInsights", "node_memory_utilization", "ClusterName", var.cluster_name]] },
    ]
  }
}

resource "aws_cloudwatch_dashboard" "this" {
  for_each       = local.dashboards
  dashboard_name = "${var.name}-${each.key}"
  dashboard_body = jsonencode({
    widgets = [for i, w in each.value : {
      type   = "metric"
      x      = (i % 2) * 12
      y      = floor(i / 2) * 6
      width  = 12
      height = 6
      properties = {
        title   = w.title
        region  = local.region
        metrics = w.metrics
        stat    = "Sum"
        period  = 300
      }
    }]
  })
}
