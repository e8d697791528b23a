data "aws_caller_identity" "current" {}

resource "aws_kms_key" "example" {
  description         = "example bucket key"
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
  source = "../.."

  bucket_name = "billpay-example-bucket"
  kms_key_arn = aws_kms_key.example.arn
  log_bucket  = "billpay-example-logs"
}
