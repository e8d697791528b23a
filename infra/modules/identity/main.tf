# How people reach BillPay and BillPay reaches people: SES sends the sign-in codes from the
# environment's domain (DKIM-signed), and a Cognito user pool is the staff's default OpenID
# Connect issuer, with a hosted sign-in page and one confidential app client for the API.
# Who is staff, and with which role, stays BillPay's data: the pool only proves who a person is.

data "aws_region" "current" {}

resource "aws_sesv2_configuration_set" "mail" {
  configuration_set_name = "${var.name}-mail"

  delivery_options {
    tls_policy = "REQUIRE"
  }
  reputation_options {
    reputation_metrics_enabled = true
  }
  sending_options {
    sending_enabled = true
  }
  suppression_options {
    suppressed_reasons = ["BOUNCE", "COMPLAINT"]
  }
}

# The domain identity; SES generates three DKIM keys, published as the CNAME records in the
# `dkim_records` output.
resource "aws_sesv2_email_identity" "domain" {
  email_identity         = var.mail_domain
  configuration_set_name = aws_sesv2_configuration_set.mail.configuration_set_name

  dkim_signing_attributes {
    next_signing_key_length = "RSA_2048_BIT"
  }
}

# What the application may send: only from its own address, only through this identity.
data "aws_iam_policy_document" "send" {
  statement {
    sid       = "SendSignInMail"
    actions   = ["ses:SendEmail", "ses:SendRawEmail"]
    resources = [aws_sesv2_email_identity.domain.arn, aws_sesv2_configuration_set.mail.arn]
    condition {
      test     = "StringEquals"
      variable = "ses:FromAddress"
      values   = ["${var.mail_from_local_part}@${var.mail_domain}"]
    }
  }
}

resource "aws_iam_policy" "send" {
  name        = "${var.name}-ses-send"
  description = "Send BillPay's e-mail from ${var.mail_from_local_part}@${var.mail_domain}"
  policy      = data.aws_iam_policy_document.send.json
}

resource "aws_iam_role_policy_attachment" "send" {
  for_each   = toset(var.sender_role_names)
  role       = each.value
  policy_arn = aws_iam_policy.send.arn
}

# Staff identities. Nobody signs themselves up: an administrator creates each person. Every
# person uses an authenticator app as a second factor.
resource "aws_cognito_user_pool" "staff" {
  name                     = "${var.name}-staff"
  # Threat protection (advanced security, below) is a Plus-tier feature: about $0.02 per
  # active staff member a month.
  user_pool_tier           = "PLUS"
  deletion_protection      = var.deletion_protection ? "ACTIVE" : "INACTIVE"
  mfa_configuration        = "ON"
  username_attributes      = ["email"]
  auto_verified_attributes = ["email"]

  admin_create_user_config {
    allow_admin_create_user_only = true
  }

  software_token_mfa_configuration {
    enabled = true
  }

  password_policy {
    minimum_length                   = 14
    require_lowercase                = true
    require_uppercase                = true
    require_numbers                  = true
    require_symbols                  = true
    temporary_password_validity_days = 3
  }

  account_recovery_setting {
    recovery_mechanism {
      name     = "verified_email"
      priority = 1
    }
  }

  user_pool_add_ons {
    advanced_security_mode = "ENFORCED"
  }
}

# The hosted sign-in page, at https://<prefix>.auth.<region>.amazoncognito.com.
resource "aws_cognito_user_pool_domain" "staff" {
  domain       = "${var.name}-staff"
  user_pool_id = aws_cognito_user_pool.staff.id
}

# BillPay's API as a confidential client: authorization code flow (the API adds PKCE), the
# callback on the API's own origin.
resource "aws_cognito_user_pool_client" "api" {
  name                                 = "${var.name}-api"
  user_pool_id                         = aws_cognito_user_pool.staff.id
  generate_secret                      = true
  allowed_oauth_flows_user_pool_client = true
  allowed_oauth_flows                  = ["code"]
  allowed_oauth_scopes                 = ["openid", "email", "profile"]
  callback_urls                        = [var.callback_url]
  supported_identity_providers         = ["COGNITO"]
  prevent_user_existence_errors        = "ENABLED"
  enable_token_revocation              = true
  explicit_auth_flows                  = ["ALLOW_REFRESH_TOKEN_AUTH"]
  id_token_validity                    = 10
  access_token_validity                = 10
  refresh_token_validity               = 1

  token_validity_units {
    id_token      = "minutes"
    access_token  = "minutes"
    refresh_token = "days"
  }
}

# What the API needs to use the pool, for External Secrets to hand to the pods as
# BILLPAY_OIDC_ISSUER, BILLPAY_OIDC_CLIENT_ID and BILLPAY_OIDC_CLIENT_SECRET. The client secret
# is in this unit's state already (an attribute of the client); writing it here adds no reader.
resource "aws_secretsmanager_secret" "oidc" {
  #checkov:skip=CKV2_AWS_57:The value is the Cognito client's own secret, rotated by replacing the client in this unit, which rewrites this version.
  name                    = var.oidc_secret_name
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "oidc" {
  secret_id = aws_secretsmanager_secret.oidc.id
  secret_string = jsonencode({
    issuer        = "https://cognito-idp.${data.aws_region.current.region}.amazonaws.com/${aws_cognito_user_pool.staff.id}"
    client_id     = aws_cognito_user_pool_client.api.id
    client_secret = aws_cognito_user_pool_client.api.client_secret
  })
}
