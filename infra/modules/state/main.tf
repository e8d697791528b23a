# The bucket every unit keeps its state in. State locking uses S3 itself (`use_lockfile`), so no
# DynamoDB table is needed. Apply this once per account, with local state, before anything else.

data "aws_caller_identity" "current" {}

resource "aws_kms_key" "state" {
  description         = "OpenTofu state encryption"
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

module "bucket" {
  source = "../bucket"

  bucket_name     = var.bucket_name
  kms_key_arn     = aws_kms_key.state.arn
  noncurrent_days = 365
}
