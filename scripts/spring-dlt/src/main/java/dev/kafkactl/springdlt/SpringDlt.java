package dev.kafkactl.springdlt;

import java.util.Collection;
import java.util.HashMap;
import java.util.Map;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

import org.springframework.beans.factory.annotation.Value;
import org.springframework.context.annotation.AnnotationConfigApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.MapPropertySource;
import org.springframework.kafka.annotation.BackOff;
import org.springframework.kafka.annotation.EnableKafka;
import org.springframework.kafka.annotation.EnableKafkaRetryTopic;
import org.springframework.kafka.annotation.KafkaListener;
import org.springframework.kafka.annotation.RetryableTopic;
import org.springframework.kafka.config.ConcurrentKafkaListenerContainerFactory;
import org.springframework.kafka.core.ConsumerFactory;
import org.springframework.kafka.core.DefaultKafkaConsumerFactory;
import org.springframework.kafka.core.DefaultKafkaProducerFactory;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.kafka.core.ProducerFactory;
import org.springframework.kafka.listener.ConsumerAwareRebalanceListener;
import org.springframework.kafka.listener.DeadLetterPublishingRecoverer;
import org.springframework.kafka.listener.DefaultErrorHandler;
import org.springframework.kafka.retrytopic.SameIntervalTopicReuseStrategy;
import org.springframework.kafka.retrytopic.TopicSuffixingStrategy;
import org.springframework.scheduling.TaskScheduler;
import org.springframework.scheduling.concurrent.ThreadPoolTaskScheduler;
import org.springframework.util.backoff.FixedBackOff;

/**
 * A Spring Kafka application whose listener fails every record whose value contains "poison",
 * so Spring writes real dead letters (kafkactl's integration tests replay them).
 *
 * <pre>
 * java -cp ... dev.kafkactl.springdlt.SpringDlt MODE bootstrap=HOST:PORT topic=T group=G
 * </pre>
 *
 * MODE {@code plain}: a DefaultErrorHandler with no retries and a DeadLetterPublishingRecoverer
 * (dead letters in {@code T-dlt}). MODE {@code retry}: a {@code @RetryableTopic} listener with
 * three attempts, one reused retry topic {@code T-retry} and the dead letters in {@code T-dlt}.
 * Topics are not created here: they must exist. Lines on stdout: {@code ASSIGNED topic-p} per
 * partition assigned, {@code OK topic-p@offset} per record handled, {@code FAILED topic-p@offset}
 * per record the listener threw on. SIGTERM closes the context (consumers leave their group).
 */
public final class SpringDlt {

	private SpringDlt() {
	}

	public static void main(String[] args) {
		if (args.length < 1 || !("plain".equals(args[0]) || "retry".equals(args[0]))) {
			System.err.println("usage: SpringDlt plain|retry bootstrap=HOST:PORT topic=T group=G");
			System.exit(2);
		}
		Map<String, Object> props = new HashMap<>();
		for (int i = 1; i < args.length; i++) {
			String[] kv = args[i].split("=", 2);
			if (kv.length != 2) {
				System.err.println("bad argument (want name=value): " + args[i]);
				System.exit(2);
			}
			props.put("dlt." + kv[0], kv[1]);
		}
		for (String name : new String[] {"bootstrap", "topic", "group"}) {
			if (!props.containsKey("dlt." + name)) {
				System.err.println("missing argument: " + name + "=...");
				System.exit(2);
			}
		}
		AnnotationConfigApplicationContext context = new AnnotationConfigApplicationContext();
		context.getEnvironment().getPropertySources().addFirst(new MapPropertySource("args", props));
		context.register(Common.class, "plain".equals(args[0]) ? Plain.class : Retrying.class);
		context.registerShutdownHook();
		context.refresh();
		say("STARTED " + args[0]);
	}

	static void say(String line) {
		System.out.println(line);
		System.out.flush();
	}

	static String where(ConsumerRecord<?, ?> record) {
		return record.topic() + "-" + record.partition() + "@" + record.offset();
	}

	static void handle(ConsumerRecord<String, String> record) {
		String value = record.value() == null ? "" : record.value();
		if (value.contains("poison")) {
			say("FAILED " + where(record));
			throw new IllegalStateException("cannot process order " + record.key()
					+ ": the value is poison");
		}
		say("OK " + where(record));
	}

	/** Clients and the listener container factory shared by both modes. */
	@Configuration
	@EnableKafka
	public static class Common {

		@Value("${dlt.bootstrap}")
		private String bootstrap;

		@Bean
		public ConsumerFactory<String, String> consumerFactory() {
			Map<String, Object> config = new HashMap<>();
			config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, this.bootstrap);
			config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
			config.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
			config.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
			return new DefaultKafkaConsumerFactory<>(config);
		}

		@Bean
		public ProducerFactory<String, String> producerFactory() {
			Map<String, Object> config = new HashMap<>();
			config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, this.bootstrap);
			config.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
			config.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
			return new DefaultKafkaProducerFactory<>(config);
		}

		@Bean
		public KafkaTemplate<String, String> kafkaTemplate(ProducerFactory<String, String> pf) {
			return new KafkaTemplate<>(pf);
		}

		@Bean
		public ConcurrentKafkaListenerContainerFactory<String, String> kafkaListenerContainerFactory(
				ConsumerFactory<String, String> cf, KafkaTemplate<String, String> template) {
			ConcurrentKafkaListenerContainerFactory<String, String> factory =
					new ConcurrentKafkaListenerContainerFactory<>();
			factory.setConsumerFactory(cf);
			// No blocking retries: a failed record goes straight to the recoverer (plain mode);
			// the retry topics replace this handler with their own (retry mode).
			factory.setCommonErrorHandler(new DefaultErrorHandler(
					new DeadLetterPublishingRecoverer(template), new FixedBackOff(0L, 0L)));
			factory.getContainerProperties().setConsumerRebalanceListener(
					new ConsumerAwareRebalanceListener() {
						@Override
						public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
							for (TopicPartition tp : partitions) {
								say("ASSIGNED " + tp);
							}
						}
					});
			return factory;
		}
	}

	/** One listener; its failures are dead-lettered by the DeadLetterPublishingRecoverer. */
	@Configuration
	public static class Plain {

		@KafkaListener(id = "plain", topics = "${dlt.topic}", groupId = "${dlt.group}")
		public void listen(ConsumerRecord<String, String> record) {
			handle(record);
		}
	}

	/** One listener with non-blocking retries through a retry topic, then the DLT. */
	@Configuration
	@EnableKafkaRetryTopic
	public static class Retrying {

		@Bean
		public TaskScheduler taskScheduler() {
			ThreadPoolTaskScheduler scheduler = new ThreadPoolTaskScheduler();
			scheduler.setPoolSize(1);
			return scheduler;
		}

		@RetryableTopic(attempts = "3", backOff = @BackOff(delay = 200), autoCreateTopics = "false",
				sameIntervalTopicReuseStrategy = SameIntervalTopicReuseStrategy.SINGLE_TOPIC,
				topicSuffixingStrategy = TopicSuffixingStrategy.SUFFIX_WITH_INDEX_VALUE)
		@KafkaListener(id = "retrying", topics = "${dlt.topic}", groupId = "${dlt.group}")
		public void listen(ConsumerRecord<String, String> record) {
			handle(record);
		}
	}
}
