output "dkim_records" {
  description = "CNAME records to publish for DKIM: name to value."
  value = {
    for t in aws_sesv2_email_identity.domain.dkim_signing_attributes[0].tokens :
    "${t}._domainkey.${var.mail_domain}" => "${t}.dkim.amazonses.com"
  }
}

output "send_policy_arn" {
  description = "The IAM policy that lets a role send BillPay's e-mail."
  value       = aws_iam_policy.send.arn
}

output "smtp_endpoint" {
  description = "The SES SMTP relay for BILLPAY_SMTP_URL (credentials go in Secrets Manager)."
  value       = "email-smtp.${data.aws_region.current.region}.amazonaws.com:587"
}

output "oidc_issuer" {
  description = "BILLPAY_OIDC_ISSUER: the staff user pool as an OpenID Connect issuer."
  value       = "https://cognito-idp.${data.aws_region.current.region}.amazonaws.com/${aws_cognito_user_pool.staff.id}"
}

output "oidc_client_id" {
  description = "BILLPAY_OIDC_CLIENT_ID: the API's client at the user pool."
  value       = aws_cognito_user_pool_client.api.id
}

output "hosted_ui" {
  description = "The staff's hosted sign-in page."
  value       = "https://${aws_cognito_user_pool_domain.staff.domain}.auth.${data.aws_region.current.region}.amazoncognito.com"
}

output "oidc_secret_arn" {
  description = "The secret holding the API's OIDC issuer, client id and client secret."
  value       = aws_secretsmanager_secret.oidc.arn
}
