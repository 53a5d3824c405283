"""The whisper text the agent hears before the bridge."""

from __future__ import annotations

from dialer.calls.whisper import render_whisper
from dialer.policy.presets import build_policy


def test_given_debtor_then_role_client_and_identity_in_chinese():
    w = render_whisper(build_policy("agency-default"), party_role="debtor", relation="self", party_name="张三",
                       client_name="招商银行", company="某某催收公司")
    assert w.language == "cmn-CN"
    assert "债务人" in w.text and "张三" in w.text and "受招商银行委托的某某催收公司" in w.text
    assert "不得透露" not in w.text


def test_given_third_party_then_relation_and_no_disclosure_reminder():
    w = render_whisper(build_policy("agency-default"), party_role="third_party", relation="spouse",
                       party_name="李四", client_name="招商银行", company="某某催收公司")
    assert "第三方" in w.text and "配偶" in w.text
    assert "不得透露任何债务信息" in w.text


def test_given_client_template_then_it_wins():
    w = render_whisper(build_policy("agency-default"), party_role="debtor", relation="self", party_name="张三",
                       client_name="招商银行", company="某某催收公司", client_template="{client}：{party_name}")
    assert w.text == "招商银行：张三"


def test_given_english_policy_then_english_identity():
    w = render_whisper(build_policy("us-reg-f"), party_role="debtor", relation="self", party_name="John Roe",
                       client_name="First Bank", company="Acme Recovery")
    assert w.language == "en-US"
    assert w.text == ("Calling the debtor (self) John Roe for First Bank. "
                      "State your identity first: Acme Recovery, on behalf of First Bank.")
