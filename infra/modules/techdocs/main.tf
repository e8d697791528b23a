data "aws_caller_identity" "current" {}

resource "aws_kms_key" "techdocs" {
  description         = "TechDocs bucket encryption"
  enable_key_rotation = true
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "AccountAdministers"
      Effect    = "Allow"
      Principal = { AWS = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:root" }
      Action    = "kms:*"
      Resource  = "*"
    }]
  })
}

# Backstage's TechDocs publisher writes here; Backstage reads through its own IAM identity.
module "bucket" {
  source = "../bucket"

  bucket_name = var.bucket_name
  kms_key_arn = aws_kms_key.techdocs.arn
  log_bucket  = var.log_bucket
}
