"""infra/terraform: parses, and the load balancer, group, security groups and role are as designed."""

from __future__ import annotations

import re
import subprocess

import hcl2
import pytest

from infra_lib import (
    TERRAFORM,
    normalize_hcl,
    require_command,
    resolve_number,
    strip_hcl_comments,
    tf_blocks,
    tf_files,
    tf_locals,
    tf_ref,
    tf_resources,
    tokener_env_names,
)


def only(resources: dict[str, dict], kind: str) -> tuple[str, dict]:
    assert len(resources) == 1, f"expected one {kind}, found {sorted(resources)}"
    return next(iter(resources.items()))


def first_block(body: dict, name: str) -> dict:
    blocks = body.get(name)
    assert blocks, f"no {name} block"
    return blocks[0] if isinstance(blocks, list) else blocks


def declared_variables() -> set[str]:
    return {name for block in tf_blocks("variable") for name in block}


@pytest.mark.parametrize("path", tf_files(), ids=lambda p: p.name)
def test_every_tf_file_parses(path):
    with open(path) as f:
        assert isinstance(hcl2.load(f), dict)


def test_versions():
    settings = tf_blocks("terraform")
    assert settings, "no terraform block"
    required_version = settings[0]["required_version"]
    assert re.search(r">=\s*1\.([5-9]|\d\d)", required_version), required_version
    aws = settings[0]["required_providers"][0]["aws"]
    assert aws["source"] == "hashicorp/aws"
    assert re.fullmatch(r"~>\s*5(\.\d+)*", aws["version"]), aws["version"]


def test_every_referenced_variable_is_declared_and_every_declared_one_is_used():
    declared = declared_variables()
    referenced = set()
    for path in tf_files():
        referenced |= set(re.findall(r"\bvar\.([A-Za-z_][A-Za-z0-9_-]*)", strip_hcl_comments(path.read_text())))
    assert referenced - declared == set(), f"undeclared: {sorted(referenced - declared)}"
    assert declared - referenced == set(), f"declared but unused: {sorted(declared - referenced)}"


def test_example_tfvars_sets_only_declared_variables():
    example = TERRAFORM / "terraform.tfvars.example"
    with open(example) as f:
        values = normalize_hcl(hcl2.load(f))
    assert set(values) <= declared_variables(), sorted(set(values) - declared_variables())
    required = {
        name
        for block in tf_blocks("variable")
        for name, body in block.items()
        if "default" not in body
    }
    assert required <= set(values), f"the example leaves out required {sorted(required - set(values))}"


def test_required_resources_exist():
    for kind in [
        "aws_lb",
        "aws_lb_target_group",
        "aws_lb_listener",
        "aws_launch_template",
        "aws_autoscaling_group",
        "aws_iam_role",
        "aws_iam_instance_profile",
        "aws_security_group",
    ]:
        assert tf_resources(kind), f"no {kind}"


def test_target_group_checks_readyz_on_8080():
    _, tg = only(tf_resources("aws_lb_target_group"), "target group")
    assert resolve_number(tg["port"]) == 8080
    check = first_block(tg, "health_check")
    assert check["path"] == "/readyz"
    assert check.get("port", "traffic-port") == "traffic-port" or resolve_number(check["port"]) == 8080
    assert str(check.get("matcher", "200")) == "200"


def test_listeners_serve_https_and_redirect_http():
    listeners = tf_resources("aws_lb_listener").values()
    https = [l for l in listeners if l["protocol"] == "HTTPS"]
    http = [l for l in listeners if l["protocol"] == "HTTP"]
    assert len(https) == 1 and https[0]["port"] == 443
    assert https[0]["certificate_arn"] == tf_ref("var.certificate_arn")
    assert len(http) == 1 and http[0]["port"] == 80
    action = first_block(http[0], "default_action")
    assert action["type"] == "redirect"
    redirect = first_block(action, "redirect")
    assert redirect["protocol"] == "HTTPS" and str(redirect["port"]) == "443"


def test_launch_template_requires_imdsv2_and_encrypts_the_root_volume():
    _, lt = only(tf_resources("aws_launch_template"), "launch template")
    metadata = first_block(lt, "metadata_options")
    assert metadata["http_tokens"] == "required"
    assert metadata.get("http_endpoint", "enabled") == "enabled"
    ebs = first_block(first_block(lt, "block_device_mappings"), "ebs")
    assert ebs["encrypted"] is True
    assert "user-data.yaml.tftpl" in lt["user_data"] or "local.user_data" in lt["user_data"]
    assert "user-data.yaml.tftpl" in tf_locals()["user_data"]


def test_autoscaling_group_spans_private_subnets_with_elb_checks_and_refresh():
    _, asg = only(tf_resources("aws_autoscaling_group"), "Auto Scaling group")
    assert asg["vpc_zone_identifier"] == tf_ref("var.private_subnet_ids")
    for key, variable in [
        ("min_size", "asg_min_size"),
        ("max_size", "asg_max_size"),
        ("desired_capacity", "asg_desired_capacity"),
    ]:
        assert asg[key] == tf_ref(f"var.{variable}")
    check_type = asg["health_check_type"]
    if check_type.startswith("${var."):
        name = check_type[len("${var.") : -1]
        check_type = next(b[name] for b in tf_blocks("variable") if name in b)["default"]
    assert check_type == "ELB"
    assert "aws_lb_target_group." in str(asg["target_group_arns"])
    assert first_block(asg, "instance_refresh")["strategy"] == "Rolling"
    template = first_block(asg, "launch_template")
    assert "latest_version" in template["version"], "pin the version so changes trigger a refresh"


def instance_security_group() -> str:
    _, lt = only(tf_resources("aws_launch_template"), "launch template")
    groups = lt["vpc_security_group_ids"]
    assert len(groups) == 1, groups
    m = re.fullmatch(r"\$\{aws_security_group\.(\w+)\.id\}", groups[0])
    assert m, groups
    return m.group(1)


def alb_security_group() -> str:
    _, lb = only(tf_resources("aws_lb"), "load balancer")
    m = re.fullmatch(r"\$\{aws_security_group\.(\w+)\.id\}", lb["security_groups"][0])
    assert m, lb["security_groups"]
    return m.group(1)


def rules_for(group: str, direction: str) -> list[dict]:
    """Every rule of a direction attached to aws_security_group.<group>, in any of the forms."""
    sg_id = tf_ref(f"aws_security_group.{group}.id")
    rules = []
    for rule in tf_resources(f"aws_vpc_security_group_{direction}_rule").values():
        if rule["security_group_id"] == sg_id:
            rules.append(rule)
    for rule in tf_resources("aws_security_group_rule").values():
        if rule["security_group_id"] == sg_id and rule["type"] == direction:
            rules.append(rule)
    rules.extend(tf_resources("aws_security_group")[group].get(direction, []))
    return rules


def test_instances_accept_only_8080_from_the_load_balancer():
    instance, alb = instance_security_group(), alb_security_group()
    assert instance != alb
    ingress = rules_for(instance, "ingress")
    assert ingress, "the instances accept nothing"
    alb_ref = tf_ref(f"aws_security_group.{alb}.id")
    for rule in ingress:
        assert resolve_number(rule["from_port"]) == 8080 == resolve_number(rule["to_port"]), rule
        source = rule.get("referenced_security_group_id") or rule.get("source_security_group_id")
        if source is None and "security_groups" in rule:
            source = rule["security_groups"][0] if len(rule["security_groups"]) == 1 else None
        assert source == alb_ref, f"ingress not from the load balancer only: {rule}"
        for key in ("cidr_ipv4", "cidr_ipv6", "cidr_blocks", "ipv6_cidr_blocks", "prefix_list_id"):
            assert not rule.get(key), f"instances must not accept {key}: {rule}"


def test_no_security_group_allows_all_protocols_or_all_ports():
    for direction in ("ingress", "egress"):
        for group in tf_resources("aws_security_group"):
            for rule in rules_for(group, direction):
                protocol = str(rule.get("ip_protocol", rule.get("protocol", "tcp")))
                assert protocol not in ("-1", "all"), f"{group} {direction} allows everything"


def test_load_balancer_ingress_is_443_and_80_from_the_allowed_cidrs():
    ingress = rules_for(alb_security_group(), "ingress")
    assert {resolve_number(r["from_port"]) for r in ingress} == {80, 443}
    for rule in ingress:
        assert rule["from_port"] == rule["to_port"]
        assert "var.allowed_ingress_cidr_blocks" in str(rule.get("for_each", "")) + str(
            rule.get("cidr_blocks", "")
        )


def test_instance_egress_is_limited_to_https_mongodb_and_redis():
    egress = rules_for(instance_security_group(), "egress")
    ports = set()
    for rule in egress:
        text = str(rule)
        if "mongodb" in text:
            ports.add("mongodb")
        elif "redis" in text:
            ports.add("redis")
        else:
            assert resolve_number(rule["from_port"]) == 443 == resolve_number(rule["to_port"]), rule
            ports.add(443)
    assert ports == {443, "mongodb", "redis"}


def test_instance_role_reads_only_its_secrets_and_gets_ssm():
    assert tf_resources("aws_iam_instance_profile")
    documents = {
        name: body
        for block in tf_blocks("data")
        for kind, by_name in block.items()
        if kind == "aws_iam_policy_document"
        for name, body in by_name.items()
    }
    statements = []
    for document in documents.values():
        statements.extend(document.get("statement", []))
        for dynamic in document.get("dynamic", []):
            statements.extend(dynamic.get("statement", {}).get("content", []))
    actions = [a for s in statements for a in s.get("actions", [])]
    assert "secretsmanager:GetSecretValue" in actions
    assert not [a for a in actions if a.endswith(":*") or a == "*"], actions
    for statement in statements:
        if "secretsmanager:GetSecretValue" in statement.get("actions", []):
            assert statement["resources"] != ["*"] and "*" not in str(statement["resources"])
    attachments = [a["policy_arn"] for a in tf_resources("aws_iam_role_policy_attachment").values()]
    assert any(arn.endswith("policy/AmazonSSMManagedInstanceCore") for arn in attachments)


def test_secrets_are_not_plain_variables():
    for block in tf_blocks("variable"):
        for name in block:
            if re.search(r"secret|mongodb_uri|password", name) and not name.endswith("_arn"):
                pytest.fail(f"variable {name} looks like a secret: pass a Secrets Manager ARN")


def test_instance_environment_uses_only_names_the_binary_reads():
    text = "\n".join(path.read_text() for path in tf_files())
    names = set(re.findall(r"\bTOKENER_[A-Z0-9_]+", text))
    assert names, "no TOKENER_* settings in the Terraform files"
    assert names <= tokener_env_names(), sorted(names - tokener_env_names())
    assert "TOKENER_LISTEN" in tf_locals()["environment"]


def test_outputs_include_the_load_balancer_dns_name():
    outputs = {name: body for block in tf_blocks("output") for name, body in block.items()}
    assert outputs["alb_dns_name"]["value"] == tf_ref("aws_lb.tokener.dns_name")


def test_terraform_fmt():
    terraform = require_command("terraform")
    result = subprocess.run(
        [terraform, "fmt", "-check", "-diff", "-recursive", str(TERRAFORM)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
