# Secrets Manager secrets encrypted with a customer-managed KMS key. Only the containers are
# created: values are put with `aws secretsmanager put-secret-value` (or by the application), so
# they never appear in OpenTofu state or plans.

data "aws_caller_identity" "current" {}

resource "aws_kms_key" "secrets" {
  description         = "${var.name} secrets"
  enable_key_rotation = true
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [{
        Sid       = "AccountAdministers"
        Effect    = "Allow"
        Principal = { AWS = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      }],
      length(var.reader_role_arns) == 0 ? [] : [{
        Sid       = "ReadersDecrypt"
        Effect    = "Allow"
        Principal = { AWS = var.reader_role_arns }
        Action    = ["kms:Decrypt"]
        Resource  = "*"
      }],
    )
  })
}

resource "aws_kms_alias" "secrets" {
  name          = "alias/${var.name}-secrets"
  target_key_id = aws_kms_key.secrets.key_id
}

resource "aws_secretsmanager_secret" "this" {
  #checkov:skip=CKV2_AWS_57:These hold API signing material that BillPay rotates through its own key-rollover (two valid keys at a time); a Lambda rotator would cut over without that overlap.
  for_each                = toset(var.secret_names)
  name                    = "${var.name}/${each.value}"
  kms_key_id              = aws_kms_key.secrets.arn
  recovery_window_in_days = 30
}
