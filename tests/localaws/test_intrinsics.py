"""The CloudFormation intrinsics the template uses resolve as CloudFormation resolves them."""

from __future__ import annotations

from localaws.cfn_template import NO_VALUE, Resolver, coerce, references
from localaws.stack_api import _template_regex


def _resolver(mode: str = "create") -> Resolver:
    r = Resolver(
        {"DeploymentMode": mode, "InferenceComponentName": "ic", "Devices": "0"},
        {"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012", "AWS::Partition": "aws"},
        {
            "CreateMode": {"Fn::Equals": [{"Ref": "DeploymentMode"}, "create"]},
            "HasAccelerator": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Devices"}, 0]}]},
        },
    )
    r.attrs["InferenceComponent"] = {"InferenceComponentArn": "arn:aws:sagemaker:us-east-1:1:inference-component/ic"}
    return r


def test_scalable_target_resource_id_reads_the_name_back_from_the_arn_in_create_mode():
    value = {
        "Fn::Sub": [
            "inference-component/${Name}",
            {
                "Name": {
                    "Fn::If": [
                        "CreateMode",
                        {
                            "Fn::Select": [
                                1,
                                {
                                    "Fn::Split": [
                                        "inference-component/",
                                        {"Fn::GetAtt": ["InferenceComponent", "InferenceComponentArn"]},
                                    ]
                                },
                            ]
                        },
                        {"Ref": "InferenceComponentName"},
                    ]
                }
            },
        ]
    }
    assert _resolver("create").resolve(value) == "inference-component/ic"
    assert _resolver("adopt").resolve(value) == "inference-component/ic"


def test_no_value_drops_the_property_and_sub_reads_pseudo_parameters():
    r = _resolver()
    spec = {"Devices": {"Fn::If": ["HasAccelerator", 1, {"Ref": "AWS::NoValue"}]}, "Cores": 2}
    assert r.resolve(spec) == {"Cores": 2}
    assert r.resolve({"Fn::Sub": "arn:${AWS::Partition}:sagemaker:${AWS::Region}:x"}) == "arn:aws:sagemaker:us-east-1:x"
    assert r.resolve({"Ref": "AWS::NoValue"}) is NO_VALUE


def test_references_find_dependencies_in_sub_and_getatt():
    found = references({"A": {"Fn::Sub": "${Table.Arn}/${Param}"}, "B": {"Fn::GetAtt": "Fn.Arn"}, "C": {"Ref": "X"}})
    assert found == {"Table", "Param", "Fn", "X"}


def test_number_parameters_become_api_integers():
    out = coerce(
        "application-autoscaling",
        "RegisterScalableTarget",
        {"ServiceNamespace": "sagemaker", "ResourceId": "r", "ScalableDimension": "d", "MinCapacity": "0"},
    )
    assert out["MinCapacity"] == 0


def test_api_path_templates():
    assert _template_regex("/{proxy+}").fullmatch("/a/b").groupdict() == {"proxy": "a/b"}
    assert _template_regex("/items/{id}").fullmatch("/items/7").groupdict() == {"id": "7"}
    assert _template_regex("/wake").fullmatch("/wake/x") is None
