"""The composition root: the one place that turns configuration into real adapters.

Entry points call :func:`build_sync_runner` once per process (lazily, on the first request) and
reuse the result; tests build the same runner from fakes instead. Nothing here runs at import.
The intake function's builder lives in :mod:`confsync.bootstrap_intake` (re-exported here), so
intake never imports Firestore, the Calendar client or the conferencing adapter: a third less
import time on each cold start.
"""

from __future__ import annotations

from datetime import timedelta

import urllib3

from confsync.adapters import firestore_http as firestore
from confsync.adapters.calendar_api import GoogleCalendarClientFactory, RetryPolicy
from confsync.adapters.conferencing import HttpConferenceProvider
from confsync.adapters.firestore_budget import FirestoreCalendarBudget
from confsync.adapters.firestore_channels import FirestoreChannelStore, FirestoreRecordForgetter
from confsync.adapters.firestore_store import FirestoreCalendarStore, FirestoreRecordStore
from confsync.adapters.google_credentials import CredentialsFor, credentials_provider
from confsync.adapters.oauth_grants import FirestoreGrantStore
from confsync.adapters.pubsub_publisher import (
    PubsubChannelCommandPublisher,
    PubsubSyncRequestPublisher,
    low_latency_publisher,
)
from confsync.bootstrap_intake import INTAKE_PUBLISH_TIMEOUT_S, build_intake_service
from confsync.budgeted_clients import BudgetedCalendarFactory, BudgetedChannelFactory
from confsync.calendar_budget import (
    CalendarAllowance,
    current_priority,
    per_window,
    priority_of,
    spending_as,
)
from confsync.channels import ChannelService, ChannelSettings
from confsync.config import (
    CalendarAuthConfig,
    ChannelsConfig,
    CliConfig,
    SyncConfig,
)
from confsync.ownership import ownerless_policy
from confsync.planner import ConferenceMatcher
from confsync.sweep_policy import SweepTuning
from confsync.sync import SyncRunner, SyncSettings

__all__ = [
    "INTAKE_PUBLISH_TIMEOUT_S",
    "build_channel_service",
    "build_cli_firestore_client",
    "build_cli_publishers",
    "build_intake_service",
    "build_sync_runner",
    "calendar_credentials",
    "channel_settings",
    "priority_of",
    "spending_as",
    "sync_settings",
]


def calendar_credentials(auth: CalendarAuthConfig, client: firestore.Client) -> CredentialsFor:
    """``credentials_for(subject)`` of the configured mode (``oauth`` reads grants from
    ``client``). Calls nothing: the first token is fetched by the first Calendar request."""
    return credentials_provider(auth, grants=FirestoreGrantStore(client))


def _calendar_factory(
    config: SyncConfig | ChannelsConfig, client: firestore.Client, *, page_size: int = 2500
) -> GoogleCalendarClientFactory:
    """The Calendar API clients of a function, with its credentials, endpoint and retries."""
    return GoogleCalendarClientFactory(
        calendar_credentials(config.calendar_auth, client),
        api_endpoint=config.calendar_api_url,
        timeout=config.calendar_timeout_s,
        page_size=page_size,
        retry=RetryPolicy(max_attempts=config.calendar_attempts),
    )


def _allowance(config: SyncConfig | ChannelsConfig, client: firestore.Client) -> CalendarAllowance:
    """The instance's share of the project's Calendar budget (one per process, every thread)."""
    per_minute = config.project_calendar_per_minute
    return CalendarAllowance(FirestoreCalendarBudget(client, per_window(per_minute)))


def sync_settings(config: SyncConfig) -> SyncSettings:
    """The runner's behaviour, from configuration."""
    return SyncSettings(
        matcher=ConferenceMatcher(
            solution_names=config.solution_names, key_type=config.solution_key_type
        ),
        relevant_fields=config.relevant_fields,
        owned_only=config.owned_events_only,
        full_sync_window=timedelta(days=config.full_sync_window_days),
        lease_ttl=timedelta(seconds=config.lease_s),
        max_rounds=config.max_pull_rounds,
        provider_concurrency=config.provider_concurrency,
        pending_max_attempts=config.pending_max_attempts,
        pending_base_delay=timedelta(seconds=config.pending_base_delay_s),
        pending_max_delay=timedelta(seconds=config.pending_max_delay_s),
        write_back=config.write_back,
        delete_brake=config.delete_brake,
        delete_grace=timedelta(seconds=config.delete_grace_s),
        move_wait=timedelta(seconds=config.move_wait_s),
        ownerless_policy=ownerless_policy(config.ownerless_policy),
        sweep=SweepTuning(
            shortest=timedelta(seconds=config.sweep_interval_s),
            longest=timedelta(seconds=config.sweep_max_interval_s),
        ),
    )


def build_sync_runner(config: SyncConfig) -> SyncRunner:
    """A SyncRunner wired to Firestore, the Calendar API, the conferencing system and Pub/Sub."""
    client = firestore.Client.from_environment(config.project, config.firestore_database)
    calendar = _calendar_factory(config, client, page_size=config.calendar_page_size)
    allowance = _allowance(config, client)
    calendar_api = BudgetedCalendarFactory(calendar, allowance)
    provider = HttpConferenceProvider(
        config.conferencing_url,
        credential=config.conferencing_credential,
        signing_secrets=config.conferencing_signing_secrets,
        timeout=config.provider_timeout_s,
        max_attempts=config.provider_attempts,
        pool=urllib3.PoolManager(maxsize=config.provider_concurrency),
        # write-back off: no join URL is ever written, so none is vetted or passed on
        join_url_hosts=config.join_url_hosts if config.write_back else None,
    )
    publisher = PubsubSyncRequestPublisher(
        low_latency_publisher(), config.project, config.sync_topic
    )
    records = FirestoreRecordStore(client)
    return SyncRunner(
        calendar_api=calendar_api,
        # The claim a run's first Calendar call would make goes with its lease's write.
        calendar_store=FirestoreCalendarStore(
            client, claims_ahead=lambda: allowance.ahead(current_priority())
        ),
        records=records,
        provider=provider,
        publisher=publisher,
        settings=sync_settings(config),
        legacy=records,
    )


def channel_settings(config: ChannelsConfig) -> ChannelSettings:
    """The channel service's behaviour, from configuration."""
    return ChannelSettings(
        intake_url=config.intake_url,
        token_keys=config.token_keys,
        channel_ttl=timedelta(seconds=config.channel_ttl_s),
        renewal_window=timedelta(seconds=config.renewal_window_s),
        sweep_interval=timedelta(seconds=config.sweep_interval_s),
        tick_batch=config.tick_batch,
        subject_budget_per_minute=config.subject_budget_per_minute,
        allowed_domains=config.allowed_domains,
        disconnected_retention=timedelta(seconds=config.disconnected_retention_s),
    )


def build_channel_service(config: ChannelsConfig) -> ChannelService:
    """A ChannelService wired to Firestore, the Calendar API and both Pub/Sub topics."""
    client = firestore.Client.from_environment(config.project, config.firestore_database)
    calendar = _calendar_factory(config, client)
    channels_api = BudgetedChannelFactory(calendar, _allowance(config, client))
    pubsub = low_latency_publisher()
    return ChannelService(
        calendar_api=channels_api,
        calendar_store=FirestoreCalendarStore(client),
        channels=FirestoreChannelStore(client),
        records=FirestoreRecordForgetter(client),
        publisher=PubsubSyncRequestPublisher(pubsub, config.project, config.sync_topic),
        commands=PubsubChannelCommandPublisher(pubsub, config.project, config.commands_topic),
        settings=channel_settings(config),
    )


def build_cli_firestore_client(config: CliConfig) -> firestore.Client:
    """The command line's Firestore client (the caller's credentials, or the emulator)."""
    return firestore.Client.from_environment(config.project, config.firestore_database)


def build_cli_publishers(
    config: CliConfig,
) -> tuple[PubsubChannelCommandPublisher, PubsubSyncRequestPublisher]:
    """The command line's publishers of channel commands and of SyncRequests (one client)."""
    pubsub = low_latency_publisher()
    return (
        PubsubChannelCommandPublisher(pubsub, config.project, config.commands_topic),
        PubsubSyncRequestPublisher(pubsub, config.project, config.sync_topic),
    )
