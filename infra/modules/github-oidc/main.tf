# Keyless CI: GitHub Actions exchanges its OIDC token for short-lived AWS credentials. Three roles:
# `plan` (read-only plus the state lock, any pull request of the repository), `deploy` (push
# images, sync sites, reach the cluster; only from the deploy branch) and `apply` (changes the
# infrastructure; only from the deploy branch's protected `infrastructure-<env>` environment).

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

locals {
  account = data.aws_caller_identity.current.account_id
  region  = data.aws_region.current.region
}

resource "aws_iam_openid_connect_provider" "github" {
  url            = "https://token.actions.githubusercontent.com"
  client_id_list = ["sts.amazonaws.com"]
}

data "aws_iam_policy_document" "trust" {
  for_each = {
    plan   = "repo:${var.github_repository}:*"
    deploy = "repo:${var.github_repository}:ref:${var.deploy_ref}"
    apply  = "repo:${var.github_repository}:environment:infrastructure-${var.environment}"
  }
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [aws_iam_openid_connect_provider.github.arn]
    }
    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:aud"
      values   = ["sts.amazonaws.com"]
    }
    condition {
      test     = "StringLike"
      variable = "token.actions.githubusercontent.com:sub"
      values   = [each.value]
    }
  }
}

resource "aws_iam_role" "ci" {
  for_each             = data.aws_iam_policy_document.trust
  name                 = "${var.name}-github-${each.key}"
  assume_role_policy   = each.value.json
  max_session_duration = 3600
}

resource "aws_iam_role_policy_attachment" "plan_read_only" {
  role       = aws_iam_role.ci["plan"].name
  policy_arn = "arn:aws:iam::aws:policy/ReadOnlyAccess"
}

# A plan takes the state lock: a lock object next to each state file.
resource "aws_iam_role_policy" "plan_state_lock" {
  name = "state-lock"
  role = aws_iam_role.ci["plan"].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["s3:PutObject", "s3:DeleteObject"]
      Resource = "arn:aws:s3:::${var.state_bucket}/*.tflock"
    }]
  })
}

resource "aws_iam_role_policy_attachment" "apply_admin" {
  #checkov:skip=CKV_AWS_274:Applying the platform creates VPCs, IAM roles, KMS keys and clusters; only the infrastructure pipeline can assume this role, from the main branch and behind the protected infrastructure environment's approval.
  role       = aws_iam_role.ci["apply"].name
  policy_arn = "arn:aws:iam::aws:policy/AdministratorAccess"
}

data "aws_iam_policy_document" "deploy" {
  statement {
    sid = "EcrLogin"
    #checkov:skip=CKV_AWS_356:ecr:GetAuthorizationToken has no resource-level permissions; AWS requires "*".
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }
  statement {
    sid = "EcrPush"
    actions = [
      "ecr:BatchCheckLayerAvailability", "ecr:CompleteLayerUpload", "ecr:InitiateLayerUpload",
      "ecr:PutImage", "ecr:UploadLayerPart", "ecr:BatchGetImage", "ecr:DescribeImages",
    ]
    resources = [for r in var.ecr_repositories : "arn:aws:ecr:${local.region}:${local.account}:repository/${r}"]
  }
  statement {
    sid       = "SiteSync"
    actions   = ["s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = flatten([for b in var.frontend_buckets : ["arn:aws:s3:::${b}", "arn:aws:s3:::${b}/*"]])
  }
  # The buckets are encrypted with SSE-KMS under keys of their own: writing needs the key, but
  # only through S3 and only for these buckets (bucket keys make the bucket's ARN the context).
  statement {
    sid       = "SiteKeys"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = ["arn:aws:kms:${local.region}:${local.account}:key/*"]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${local.region}.amazonaws.com"]
    }
    condition {
      test     = "StringLike"
      variable = "kms:EncryptionContext:aws:s3:arn"
      values   = flatten([for b in var.frontend_buckets : ["arn:aws:s3:::${b}", "arn:aws:s3:::${b}/*"]])
    }
  }
  statement {
    sid       = "CdnInvalidate"
    actions   = ["cloudfront:CreateInvalidation", "cloudfront:GetInvalidation"]
    resources = ["arn:aws:cloudfront::${local.account}:distribution/*"]
  }
  statement {
    sid       = "ClusterAccess"
    actions   = ["eks:DescribeCluster"]
    resources = ["arn:aws:eks:${local.region}:${local.account}:cluster/${var.cluster_name}"]
  }
}

resource "aws_iam_role_policy" "deploy" {
  name   = "deploy"
  role   = aws_iam_role.ci["deploy"].id
  policy = data.aws_iam_policy_document.deploy.json
}
