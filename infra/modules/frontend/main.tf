# A static site: a private S3 bucket read only by CloudFront (origin access control), security
# headers on every answer, optional custom domain with an ACM certificate, SPA fallback, access logs.

data "aws_caller_identity" "current" {}

resource "aws_kms_key" "site" {
  description         = "${var.name} site bucket encryption"
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
        Sid       = "CloudFrontDecrypts"
        Effect    = "Allow"
        Principal = { Service = "cloudfront.amazonaws.com" }
        Action    = ["kms:Decrypt"]
        Resource  = "*"
        Condition = { StringEquals = { "AWS:SourceAccount" = data.aws_caller_identity.current.account_id } }
      },
    ]
  })
}

module "bucket" {
  source = "../bucket"

  bucket_name = var.bucket_name
  kms_key_arn = aws_kms_key.site.arn
  log_bucket  = split(".", var.log_bucket_domain_name)[0]
}

resource "aws_cloudfront_origin_access_control" "site" {
  name                              = var.name
  origin_access_control_origin_type = "s3"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

resource "aws_s3_bucket_policy" "site" {
  bucket = module.bucket.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "CloudFrontReads"
      Effect    = "Allow"
      Principal = { Service = "cloudfront.amazonaws.com" }
      Action    = "s3:GetObject"
      Resource  = "${module.bucket.arn}/*"
      Condition = { StringEquals = { "AWS:SourceArn" = aws_cloudfront_distribution.site.arn } }
    }]
  })
}

resource "aws_cloudfront_response_headers_policy" "security" {
  name = "${var.name}-security-headers"
  security_headers_config {
    strict_transport_security {
      access_control_max_age_sec = 63072000
      include_subdomains         = true
      preload                    = true
      override                   = true
    }
    content_type_options {
      override = true
    }
    frame_options {
      frame_option = "DENY"
      override     = true
    }
    referrer_policy {
      referrer_policy = "strict-origin-when-cross-origin"
      override        = true
    }
    content_security_policy {
      content_security_policy = "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src ${local.connect_src}; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
      override                = true
    }
  }
}

locals {
  # The page may call its own origin and the API's, nothing else. Without a known API origin
  # (an environment without a domain), any HTTPS origin.
  connect_src = var.api_origin == "" ? "'self' https:" : "'self' ${var.api_origin}"
}

resource "aws_acm_certificate" "site" {
  count             = var.domain_name == "" ? 0 : 1
  domain_name       = var.domain_name
  validation_method = "DNS"
  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_cloudfront_distribution" "site" {
  #checkov:skip=CKV_AWS_68:Static files only, with no server-side code to attack; WAF belongs in front of the API's load balancer, not the S3 sites.
  #checkov:skip=CKV2_AWS_47:Log4j protection is for Java backends; these distributions serve static HTML, JS and CSS from S3.
  #checkov:skip=CKV_AWS_310:One origin by design: the site is rebuilt from Git in minutes, and a failover origin would need a replicated bucket.
  #checkov:skip=CKV_AWS_374:BillPay's customers may pay from anywhere; no country is blocked by policy.
  #checkov:skip=CKV_AWS_174:Without a custom domain the distribution uses CloudFront's default certificate, whose TLS policy AWS sets; with one, TLSv1.2_2021 is required below.
  #checkov:skip=CKV2_AWS_42:The custom certificate is optional (domain_name); environments without a domain use CloudFront's own, which is valid TLS.
  enabled             = true
  comment             = var.name
  default_root_object = "index.html"
  price_class         = var.price_class
  aliases             = var.domain_name == "" ? [] : [var.domain_name]
  http_version        = "http2and3"

  origin {
    origin_id                = "s3"
    domain_name              = module.bucket.regional_domain_name
    origin_access_control_id = aws_cloudfront_origin_access_control.site.id
  }

  default_cache_behavior {
    target_origin_id           = "s3"
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["GET", "HEAD"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = true
    cache_policy_id            = "658327ea-f89d-4fab-a63d-7e88639e58f6" # Managed-CachingOptimized
    response_headers_policy_id = aws_cloudfront_response_headers_policy.security.id
  }

  dynamic "custom_error_response" {
    for_each = var.spa_fallback ? [403, 404] : []
    content {
      error_code            = custom_error_response.value
      response_code         = 200
      response_page_path    = "/index.html"
      error_caching_min_ttl = 10
    }
  }

  logging_config {
    bucket          = var.log_bucket_domain_name
    prefix          = "cloudfront/${var.name}/"
    include_cookies = false
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    cloudfront_default_certificate = var.domain_name == ""
    acm_certificate_arn            = var.domain_name == "" ? null : aws_acm_certificate.site[0].arn
    ssl_support_method             = var.domain_name == "" ? null : "sni-only"
    minimum_protocol_version       = var.domain_name == "" ? "TLSv1" : "TLSv1.2_2021"
  }
}
